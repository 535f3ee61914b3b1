/** `ape eval --engine opa-wasm|opa-server`, the WASM cache, the capability check, big numbers, and OPA discovery errors. */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { NativeEngine } from '../../src/adapters/native/index.js';
import { createOpaWasmEngine } from '../../src/adapters/opa-wasm/index.js';
import { findOpa } from '../../src/adapters/opa/cli.js';
import { OpaCapabilityError, OpaNotFoundError } from '../../src/adapters/opa/errors.js';
import { policyBundle } from '../../src/adapters/opa/bundle.js';
import { buildWasmBundleFromRego, wasmCacheDir } from '../../src/adapters/opa/wasm.js';
import { bufferIO } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';
import { compilePolicyFile, compilePolicySource } from '../../src/compiler/compile.js';
import type { EngineInput } from '../../src/compiler/ir.js';
import { startOpa, tempDir } from './helpers.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const POLICY = join(ROOT, 'policies/scoped_access.yaml');
const temp = tempDir('ape-engines-');
const savedCache = process.env['APE_CACHE_DIR'];
process.env['APE_CACHE_DIR'] = join(temp.dir, 'cache');
afterAll(() => {
  if (savedCache === undefined) delete process.env['APE_CACHE_DIR'];
  else process.env['APE_CACHE_DIR'] = savedCache;
  temp.remove();
});

async function evalJson(args: string[]): Promise<{ code: number; out: Record<string, unknown>; stderr: string }> {
  const io = bufferIO();
  const code = await runCli(['eval', POLICY, ...args, '--json'], io);
  return { code, out: io.stdout.trim() ? (JSON.parse(io.stdout) as Record<string, unknown>) : {}, stderr: io.stderr };
}

describe('ape eval with the OPA engines', () => {
  const request = ['read_file', '-p', 'path=/workspace/../etc/passwd'];

  it('--engine opa-wasm decides like native and caches the built WASM by policy', async () => {
    const native = await evalJson(request);
    const wasm = await evalJson([...request, '--engine', 'opa-wasm']);
    expect(wasm.code).toBe(native.code);
    expect({ ...wasm.out, engine: 'native' }).toEqual(native.out);
    expect(wasm.out['engine']).toBe('opa-wasm');
    const cached = readdirSync(wasmCacheDir()).filter((f) => f.endsWith('.tar.gz'));
    expect(cached).toHaveLength(1);
    // A second run reuses the cached build (no second file) and decides the same.
    expect((await evalJson([...request, '--engine', 'opa-wasm'])).out).toEqual(wasm.out);
    expect(readdirSync(wasmCacheDir()).filter((f) => f.endsWith('.tar.gz'))).toEqual(cached);
  });

  it('--engine opa-server --opa-url decides like native against a real OPA', async () => {
    const policy = compilePolicyFile(POLICY);
    const file = join(temp.dir, 'b.tar.gz');
    writeFileSync(file, await policyBundle(policy));
    const opa = await startOpa(['-b', file]);
    try {
      const native = await evalJson(request);
      const served = await evalJson([...request, '--engine', 'opa-server', '--opa-url', opa.url]);
      expect(served.code).toBe(native.code);
      expect({ ...served.out, engine: 'native' }).toEqual(native.out);
    } finally {
      await opa.stop();
    }
    const down = await evalJson([...request, '--engine', 'opa-server', '--opa-url', opa.url]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/opa-server: cannot reach OPA/);
  });
});

describe('capability check at build time', () => {
  it('rejects Rego that needs a builtin the WASM SDK does not provide natively', async () => {
    const rego = 'package ape.caps\n\ndecision := time.now_ns()\n';
    await expect(buildWasmBundleFromRego(rego, 'ape/caps/decision', 'r')).rejects.toBeInstanceOf(OpaCapabilityError);
    const http = 'package ape.caps\n\ndecision := http.send({"method": "GET", "url": "http://127.0.0.1:1"})\n';
    await expect(buildWasmBundleFromRego(http, 'ape/caps/decision', 'r')).rejects.toBeInstanceOf(OpaCapabilityError);
  });
});

describe('numbers at the edge of double precision', () => {
  it('opa-wasm compares big and tiny numbers exactly like native', async () => {
    const policy = compilePolicySource(
      [
        'name: bignum',
        'version: "1"',
        'actions:',
        '  - id: pay',
        '    parameters: { type: object, properties: { amount: { type: number }, n: { type: number } } }',
        'rules:',
        '  - id: cap',
        '    action: pay',
        '    decision: allow',
        '    conditions:',
        '      amount: { max: 9007199254740993, min: 0.30000000000000004 }',
        '      n: { one_of: [1e21, 9007199254740992, -0.0, 5e-324] }',
        '',
      ].join('\n'),
      'bignum.yaml',
    );
    const engine = await createOpaWasmEngine(policy);
    const native = new NativeEngine(policy.ir, policy.hash);
    const amounts = [9007199254740992, Number('9007199254740993'), 9007199254740994, 2 ** 53 + 2, 1e308, 0.1 + 0.2, 0.3, 1e21, -0];
    const ns = [1e21, 1e21 + 1e6, Number('9007199254740993'), 0, -0, 5e-324, 1e-7, 1];
    const mismatches: unknown[] = [];
    for (const amount of amounts) {
      for (const n of ns) {
        const input: EngineInput = { action: 'pay', facts: { amount, n } };
        const { engine: _a, ...actual } = await engine.decide(input);
        const { engine: _b, ...expected } = native.decideSync(input);
        if (JSON.stringify(actual) !== JSON.stringify(expected)) mismatches.push({ input, actual, expected });
      }
    }
    expect(mismatches).toEqual([]);
  });
});

describe('finding OPA', () => {
  const saved = process.env['APE_OPA'];
  afterEach(() => {
    if (saved === undefined) delete process.env['APE_OPA'];
    else process.env['APE_OPA'] = saved;
  });

  it('APE_OPA wins, and a wrong one is a one-line error naming the install command', async () => {
    expect(findOpa({ APE_OPA: findOpa(), PATH: '' })).toBe(findOpa());
    expect(() => findOpa({ APE_OPA: join(temp.dir, 'no-such-opa') })).toThrow(OpaNotFoundError);
    process.env['APE_OPA'] = join(temp.dir, 'no-such-opa');
    const io = bufferIO();
    const code = await runCli(['compile', POLICY, '--target', 'wasm', '-o', join(temp.dir, 'w.tar.gz')], io);
    expect(code).toBe(1);
    expect(io.stderr.trim().split('\n')).toHaveLength(1);
    expect(io.stderr).toContain('bash scripts/install-opa.sh');
    expect(existsSync(join(temp.dir, 'w.tar.gz'))).toBe(false);
  });
});
