/** Builds a policy's WASM bundle with `opa build -t wasm`, under the capability check, and caches it by content. */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CompiledPolicy } from '../../compiler/compile.js';
import { emitRego, entrypoints, packageSegments } from '../../compiler/rego/index.js';
import { wasmCapabilities } from './capabilities.js';
import { runOpa } from './cli.js';
import { OpaCapabilityError, OpaCommandError } from './errors.js';

/**
 * Builds the WASM bundle (tar.gz with `/policy.wasm`) of Rego source with these entrypoints. The bundle
 * claims only `root` (a slash path such as `ape/<name>`, or none for the whole tree) and is built from
 * a directory with relative paths, so two builds of the same source are byte-identical.
 */
export async function buildWasmBundleFromRego(rego: string, entrypoint: string | readonly string[], revision: string, root?: string): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'ape-wasm-'));
  try {
    const source = join(dir, 'bundle');
    const regoDir = root ? join(source, ...root.split('/')) : source;
    mkdirSync(regoDir, { recursive: true });
    writeFileSync(join(regoDir, 'policy.rego'), rego);
    writeFileSync(join(source, '.manifest'), JSON.stringify({ revision, roots: [root ?? ''], rego_version: 1 }));
    writeFileSync(join(dir, 'capabilities.json'), await wasmCapabilities());
    const out = join(dir, 'bundle.tar.gz');
    const entries = (typeof entrypoint === 'string' ? [entrypoint] : [...entrypoint]).flatMap((e) => ['-e', e]);
    try {
      await runOpa(['build', '-t', 'wasm', ...entries, '--capabilities', '../capabilities.json', '-r', revision, '-o', '../bundle.tar.gz', '-b', '.'], { cwd: source });
    } catch (error) {
      if (error instanceof OpaCommandError && /undefined function|unsupported built-?in/i.test(error.output)) throw new OpaCapabilityError(error.output);
      throw error;
    }
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Builds a compiled policy's WASM bundle: entrypoints `ape/<name>/decision`, `allow` and `facts_decision`, root `ape/<name>`. */
export function buildWasmBundle(policy: CompiledPolicy): Promise<Buffer> {
  return buildWasmBundleFromRego(emitRego(policy), entrypoints(policy.ir.name), policy.hash, packageSegments(policy.ir.name).join('/'));
}

/** Where built WASM bundles are cached: `APE_CACHE_DIR`, else `.cache/ape` under the working directory. */
export function wasmCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env['APE_CACHE_DIR'] ?? join(process.cwd(), '.cache', 'ape'), 'wasm');
}

/**
 * The policy's WASM bundle, from the cache when it was built before. The key hashes the emitted
 * Rego, which embeds the policy hash, so a new policy or a new emitter never reuses a stale build.
 */
export async function cachedWasmBundle(policy: CompiledPolicy, cacheDir = wasmCacheDir()): Promise<Buffer> {
  const rego = emitRego(policy);
  const key = createHash('sha256').update(rego).digest('hex');
  const file = join(cacheDir, `${key}.tar.gz`);
  try {
    return readFileSync(file);
  } catch {
    // Not built yet.
  }
  const bundle = await buildWasmBundleFromRego(rego, entrypoints(policy.ir.name), policy.hash, packageSegments(policy.ir.name).join('/'));
  try {
    mkdirSync(cacheDir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, bundle);
    renameSync(tmp, file);
  } catch {
    // A cache that can't be written only costs a rebuild next time.
  }
  return bundle;
}
