/** Finds and runs the OPA CLI: `APE_OPA`, then the project's `.tools/bin/opa`, then `PATH`. */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OpaCommandError, OpaNotFoundError } from './errors.js';

/** The project root (this file is `<root>/{src,dist}/adapters/opa/cli.*`). */
export const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The path of the OPA CLI. Throws `OpaNotFoundError` (one line, with the install command) when there is none. */
export function findOpa(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env['APE_OPA'];
  if (explicit) {
    if (executable(explicit)) return explicit;
    throw new OpaNotFoundError(`APE_OPA=${explicit} is not an executable file`, checkoutScript());
  }
  for (const candidate of [join(PROJECT_ROOT, '.tools/bin/opa'), join(process.cwd(), '.tools/bin/opa')]) {
    if (executable(candidate)) return candidate;
  }
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (dir && executable(join(dir, 'opa'))) return join(dir, 'opa');
  }
  throw new OpaNotFoundError('not in APE_OPA, .tools/bin or PATH', checkoutScript());
}

/** The install script of an APE checkout (`scripts/install-opa.sh`), absent from the installed package. */
function checkoutScript(): string | undefined {
  return existsSync(join(PROJECT_ROOT, 'scripts/install-opa.sh')) ? 'scripts/install-opa.sh' : undefined;
}

/** What an OPA command printed. */
export interface OpaOutput {
  stdout: string;
  stderr: string;
}

/** Runs `opa <args>`; rejects with `OpaCommandError` on a non-zero exit. */
export function runOpa(args: readonly string[], options: { cwd?: string; stdin?: string } = {}): Promise<OpaOutput> {
  const opa = findOpa();
  return new Promise((resolve, reject) => {
    const child = execFile(opa, args, { cwd: options.cwd, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new OpaCommandError(args[0] ?? '', `${stderr}\n${stdout}`.trim() || error.message));
      else resolve({ stdout, stderr });
    });
    if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  });
}
