/**
 * Package hygiene as a user meets it: `npm pack`, the tarball installed into an empty project, every
 * subpath export imported from JavaScript and type-checked from TypeScript (strict tsc), the README's
 * code blocks run as written against the installed package.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  license: string;
  scripts: Record<string, string>;
  exports: Record<string, { types: string; default: string }>;
};
const SUBPATHS = Object.keys(PKG.exports);
const specifier = (subpath: string) => (subpath === '.' ? PKG.name : `${PKG.name}${subpath.slice(1)}`);

let work = '';
let project = '';
let files: string[] = [];
let installStderr = '';
let installed = '';

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ape-pack-'));
  // prepack builds dist/ from a clean slate.
  const packed = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  if (!info) throw new Error('npm pack printed no result');
  files = info.files.map((f) => f.path);
  project = join(work, 'consumer');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // The frameworks behind the integration subpaths are optional peers: a user of those subpaths installs them,
  // so the consumer does too, at the versions this repository tests with.
  const peers = Object.keys((PKG as { peerDependencies?: Record<string, string> }).peerDependencies ?? {}).map(
    (name) => `${name}@${(JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version}`,
  );
  const install = await run('npm', ['install', join(work, info.filename), '@types/node@20', ...peers, '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd: project,
    maxBuffer: 64 * 1024 * 1024,
  });
  installStderr = install.stderr;
  installed = join(project, 'node_modules', PKG.name);
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('holds the full Apache-2.0 text in LICENSE, as package.json declares', () => {
    expect(PKG.license).toBe('Apache-2.0');
    expect(files).toContain('LICENSE');
    const text = readFileSync(join(installed, 'LICENSE'), 'utf8');
    for (const line of ['Apache License', 'Version 2.0, January 2004', 'TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION', '9. Accepting Warranty or Additional Liability.', 'END OF TERMS AND CONDITIONS']) {
      expect(text).toContain(line);
    }
    expect(text.length).toBeGreaterThan(10_000);
  });

  it('has no source map pointing at a file it does not contain', () => {
    const present = new Set(files);
    const missing: string[] = [];
    let maps = 0;
    for (const file of files) {
      if (file.endsWith('.js') || file.endsWith('.d.ts')) {
        const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(installed, file), 'utf8'))?.[1];
        if (url && !url.startsWith('data:') && !present.has(posix.join(posix.dirname(file), url))) missing.push(`${file} -> ${url}`);
      }
      if (!file.endsWith('.map')) continue;
      maps += 1;
      const map = JSON.parse(readFileSync(join(installed, file), 'utf8')) as { sources: string[]; sourceRoot?: string };
      for (const source of map.sources) {
        const target = posix.normalize(posix.join(posix.dirname(file), map.sourceRoot ?? '', source));
        if (!present.has(target)) missing.push(`${file} -> ${source}`);
      }
    }
    expect(missing).toEqual([]);
    expect(maps).toBeGreaterThan(0);
  });

  it('ships every file its exports name, and no build or test leftovers', () => {
    for (const [subpath, target] of Object.entries(PKG.exports)) {
      expect(files, subpath).toContain(target.types.slice(2));
      expect(files, subpath).toContain(target.default.slice(2));
    }
    expect(files.filter((f) => f.startsWith('test/') || f.startsWith('.tools/') || f.startsWith('node_modules/') || f.endsWith('.tsbuildinfo'))).toEqual([]);
  });

  it('installs from the tarball without a warning, and runs no lifecycle script there (the build is in prepack)', () => {
    // Warnings about the registry's other packages (deprecations) are not this package's to fix.
    expect(installStderr.split('\n').filter((l) => /prepare|lifecycle|script|ape-policy-engine/i.test(l))).toEqual([]);
    const shipped = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    for (const hook of ['prepare', 'preinstall', 'install', 'postinstall']) expect(shipped.scripts?.[hook], hook).toBeUndefined();
    expect(shipped.scripts?.['prepack']).toBe('npm run build');
  });

  it('keeps @internal declarations out of its types (stripInternal)', () => {
    const leaked = files.filter((f) => f.endsWith('.d.ts') && readFileSync(join(installed, f), 'utf8').includes('@internal'));
    expect(leaked).toEqual([]);
    // The runtime's Run is made by ApeRuntime.createRun: its constructor's internal types stay out.
    expect(readFileSync(join(installed, 'dist/runtime/run.d.ts'), 'utf8')).not.toMatch(/constructor\(core/);
  });
});

describe('the installed package, used from an empty project', () => {
  it('imports every subpath export from JavaScript', async () => {
    const lines = SUBPATHS.map((s, i) => `const m${i} = await import(${JSON.stringify(specifier(s))}); out[${JSON.stringify(s)}] = Object.keys(m${i});`);
    writeFileSync(join(project, 'imports.mjs'), ['const out = {};', ...lines, 'console.log(JSON.stringify(out));'].join('\n'));
    const { stdout } = await run('node', ['imports.mjs'], { cwd: project });
    const names = JSON.parse(stdout) as Record<string, string[]>;
    expect(Object.keys(names).sort()).toEqual([...SUBPATHS].sort());
    for (const s of SUBPATHS) expect(names[s]?.length, s).toBeGreaterThan(0);
  });

  it('exports a curated root: the API, not the compiler internals', async () => {
    writeFileSync(join(project, 'root.mjs'), `console.log(JSON.stringify(Object.keys(await import(${JSON.stringify(PKG.name)})).sort()));`);
    const root = JSON.parse((await run('node', ['root.mjs'], { cwd: project })).stdout) as string[];
    expect(root).toEqual([
      'APE_ERROR_CODES', 'ApeError', 'DIAGNOSTIC_CODES', 'EngineError', 'Evaluator', 'NativeEngine', 'NativeEvaluator', 'ParameterValidationError',
      'PolicyCompileError', 'PolicyLoadError', 'RequestError', 'RequestPreparer', 'STANDARD_ACTION_IDS', 'UnknownEngineError', 'checkPolicyFile',
      'checkPolicySource', 'compilePolicyFile', 'compilePolicySource', 'createEngine', 'createEvaluator', 'diffPolicies', 'engineNames', 'formatDiagnostic',
      'hasErrors', 'isApeError', 'registerEngine', 'simulate', 'standardAction', 'standardActions',
    ]);
  });

  it('reaches every built-in compile target, emitRego and compileCedar from subpath exports; errors by code; OPA hint for package users', async () => {
    writeFileSync(
      join(project, 'targets.mjs'),
      `import { compilePolicyFile, isApeError, NativeEvaluator } from '${PKG.name}';
import { emitRego } from '${PKG.name}/compiler/rego';
import { compileCedar } from '${PKG.name}/compiler/cedar';
import { getTarget, targetNames } from '${PKG.name}/targets';
import { findOpa } from '${PKG.name}/adapters/opa';
const policy = compilePolicyFile('node_modules/${PKG.name}/policies/scoped_access.yaml');
const out = { targets: targetNames(), rego: emitRego(policy).split('\\n').find((l) => l.startsWith('package ')), cedar: compileCedar(policy).policies.length > 0 };
out.model = JSON.parse((await getTarget('model').emit(policy, {})).stdout).format;
try { new NativeEvaluator(policy).decideSync({ action: 'write_file', params: { path: '/workspace/a', content: 1 } }); } catch (e) { out.params = isApeError(e, 'APE_PARAMS_INVALID') && !isApeError(e, 'APE_POLICY_INVALID'); }
try { findOpa({ PATH: '' }); } catch (e) { out.opa = isApeError(e, 'APE_OPA_MISSING') ? e.message : String(e); }
console.log(JSON.stringify(out));`,
    );
    const out = JSON.parse((await run('node', ['targets.mjs'], { cwd: project })).stdout) as Record<string, unknown>;
    const { targetNames } = await import('../../src/targets.js');
    expect(out['targets']).toEqual(targetNames());
    expect(out['targets']).toEqual(expect.arrayContaining(['ir', 'rego', 'bundle', 'wasm', 'cedar', 'smt', 'model', 'tla']));
    expect(out).toMatchObject({ rego: 'package ape.scoped_access', cedar: true, params: true });
    expect(typeof out['model']).toBe('string');
    // A package user has no scripts/install-opa.sh: the hint names what works anywhere.
    expect(out['opa']).toMatch(/go install github\.com\/open-policy-agent\/opa@v\d+\.\d+\.\d+/);
    expect(out['opa']).toContain('APE_OPA');
    expect(out['opa']).not.toContain('scripts/');
  });

  it('type-checks every subpath export and the typed error codes from TypeScript (strict tsc)', async () => {
    const imports = SUBPATHS.map((s, i) => `import * as m${i} from ${JSON.stringify(specifier(s))};`);
    writeFileSync(
      join(project, 'check.ts'),
      `${imports.join('\n')}
import { isApeError, type ApeErrorCode } from '${PKG.name}';
export const modules = [${SUBPATHS.map((_, i) => `m${i}`).join(', ')}] as const;
export function codeOf(error: unknown): 'APE_PARAMS_INVALID' | undefined {
  if (isApeError(error, 'APE_PARAMS_INVALID')) return error.code;
  return undefined;
}
export const known: ApeErrorCode = 'APE_OPA_MISSING';
// @ts-expect-error not an APE error code
export const unknownCode: ApeErrorCode = 'APE_NO_SUCH_CODE';
`,
    );
    writeReadmeBlocks();
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true, skipLibCheck: false, noEmit: true, types: ['node'],
        },
        include: ['*.ts'],
      }),
    );
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const result = await run('node', [tsc, '-p', 'tsconfig.json'], { cwd: project }).catch((e: { stdout: string }) => ({ stdout: e.stdout, failed: true }));
    // Our declarations and the consumer's code must be clean under the strictest settings. The optional
    // framework peers' own declarations are not ours to fix (some do not pass exactOptionalPropertyTypes
    // with skipLibCheck off), so diagnostics located inside another package are left out.
    const ours = result.stdout
      .split(/\n(?=\S)/)
      .filter((d) => d.trim() !== '' && (!d.startsWith('node_modules/') || d.startsWith(`node_modules/${PKG.name}/`)));
    expect(ours.join('\n')).toBe('');
  });

  it("runs the README's code blocks as written", async () => {
    const blocks = writeReadmeBlocks();
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    cpSync(join(ROOT, 'policies'), join(project, 'policies'), { recursive: true });
    const tsx = join(ROOT, 'node_modules/tsx/dist/cli.mjs');
    for (const file of blocks) {
      const { stderr } = await run('node', [tsx, file], { cwd: project });
      expect(stderr, file).toBe('');
    }
  });

  it('runs the ape command from the tarball', async () => {
    cpSync(join(ROOT, 'policies'), join(project, 'policies'), { recursive: true });
    const { stdout } = await run('node', [join(project, 'node_modules/.bin/ape'), 'eval', 'policies/scoped_access.yaml', 'read_file', '-p', 'path=/workspace/a.md', '--json'], { cwd: project });
    expect(JSON.parse(stdout)).toMatchObject({ decision: 'allow', rule: 'workspace-read', engine: 'native' });
  });
});

/** Writes each ```ts block of the README into the project as readme-<n>.ts; returns the file names. */
function writeReadmeBlocks(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');
  return blocks.map((code, i) => {
    const file = `readme-${i + 1}.ts`;
    mkdirSync(dirname(join(project, file)), { recursive: true });
    writeFileSync(join(project, file), `${code}export {};\n`);
    return file;
  });
}
