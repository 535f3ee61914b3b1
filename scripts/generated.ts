/** Writes generated files, or with `--check` reports the stale ones (exit 1): shared by the gen-* scripts. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Whether a script module is the one node was started with. */
export function isMain(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && fileURLToPath(moduleUrl) === process.argv[1];
}

/** Writes each `path -> content` (relative to the root) that differs; with `check`, only reports them. Returns the stale count. */
export function syncGenerated(files: Map<string, string>, check = process.argv.includes('--check')): number {
  let stale = 0;
  for (const [path, content] of files) {
    let current: string | undefined;
    try {
      current = readFileSync(join(ROOT, path), 'utf8');
    } catch {
      current = undefined;
    }
    if (current === content) continue;
    stale++;
    if (check) console.error(`stale: ${path}`);
    else {
      mkdirSync(dirname(join(ROOT, path)), { recursive: true });
      writeFileSync(join(ROOT, path), content);
      console.error(`wrote ${path}`);
    }
  }
  if (check && stale > 0) process.exitCode = 1;
  return stale;
}
