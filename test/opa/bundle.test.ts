/** OPA bundles written in TypeScript: a real `opa run -s -b` loads and serves them; signatures verify in OPA and tampering is rejected. */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NativeEngine } from '../../src/adapters/native/index.js';
import { OpaServerEngine } from '../../src/adapters/opa-server/index.js';
import { OpaWasmEngine } from '../../src/adapters/opa-wasm/index.js';
import { bundleFileHash } from '../../src/adapters/opa/signing.js';
import { readTarGz, writeTarGz } from '../../src/adapters/opa/tar.js';
import { bufferIO } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';
import { compilePolicyFile } from '../../src/compiler/compile.js';
import { RequestPreparer } from '../../src/compiler/engine-input.js';
import type { EngineInput } from '../../src/compiler/ir.js';
import { startOpa, tempDir } from './helpers.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const POLICY = join(ROOT, 'policies/scoped_access.yaml');
const policy = compilePolicyFile(POLICY);
const temp = tempDir('ape-bundle-');
afterAll(() => temp.remove());

async function compile(args: string[]): Promise<{ code: number; stderr: string }> {
  const io = bufferIO();
  const code = await runCli(['compile', POLICY, ...args], io);
  return { code, stderr: io.stderr };
}

/** The native and the served decision for each example of the policy. */
async function servedMatchesNative(url: string): Promise<void> {
  const engine = new OpaServerEngine(policy, { url, timeoutMs: 5000 });
  const native = new NativeEngine(policy.ir, policy.hash);
  const preparer = new RequestPreparer(policy.ir);
  expect(policy.examples.length).toBeGreaterThan(0);
  for (const example of policy.examples) {
    const input = preparer.prepare(example);
    const { engine: _a, ...served } = await engine.decide(input);
    const { engine: _b, ...expected } = native.decideSync(input);
    expect(served).toEqual(expected);
  }
}

/** Starts OPA on a bundle and reports whether it came up; always stops it. */
async function opaAccepts(args: string[]): Promise<{ ok: boolean; logs: string }> {
  try {
    const opa = await startOpa(args);
    try {
      await servedMatchesNative(opa.url);
    } finally {
      await opa.stop();
    }
    return { ok: true, logs: '' };
  } catch (error) {
    return { ok: false, logs: error instanceof Error ? error.message : String(error) };
  }
}

async function tamper(file: string, out: string): Promise<void> {
  const files = await readTarGz(readFileSync(file));
  const entries = [...files].map(([path, content]) => ({
    path,
    content: path.endsWith('.rego') ? Buffer.from(content.toString('utf8').replace('default_decision := "deny"', 'default_decision := "allow"')) : content,
  }));
  expect(entries.some((e) => e.path.endsWith('.rego') && e.content.includes('default_decision := "allow"'))).toBe(true);
  writeFileSync(out, await writeTarGz(entries));
}

describe('ape compile --target bundle', () => {
  it('writes a bundle with the manifest, the Rego and data.json that opa run -s -b serves', async () => {
    const file = join(temp.dir, 'bundle.tar.gz');
    expect(await compile(['--target', 'bundle', '-o', file])).toMatchObject({ code: 0 });
    const files = await readTarGz(readFileSync(file));
    expect([...files.keys()].sort()).toEqual(['.manifest', 'ape/scoped_access/policy.rego', 'data.json']);
    const manifest = JSON.parse((files.get('.manifest') as Buffer).toString('utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ revision: policy.hash, roots: ['ape/scoped_access'], rego_version: 1 });
    const result = await opaAccepts(['-b', file]);
    expect(result.logs).toBe('');
    expect(result.ok).toBe(true);
  });

  it('rejects a missing -o and an unknown signing algorithm with one-line typed errors', async () => {
    const noOutput = await compile(['--target', 'bundle']);
    expect(noOutput.code).toBe(1);
    expect(noOutput.stderr.trim().split('\n')).toHaveLength(1);
    const key = join(temp.dir, 'k.txt');
    writeFileSync(key, 'secret');
    const badAlg = await compile(['--target', 'bundle', '-o', join(temp.dir, 'x.tar.gz'), '--signing-key', key, '--signing-alg', 'none']);
    expect(badAlg.code).toBe(1);
    expect(badAlg.stderr).toMatch(/unknown signing algorithm 'none'/);
  });
});

describe('signed bundles (real OPA verification)', () => {
  it('RS256: OPA with the public key accepts the bundle, rejects a tampered one and one signed by another key', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyFile = join(temp.dir, 'rsa.pem');
    const otherFile = join(temp.dir, 'other.pem');
    const pubFile = join(temp.dir, 'rsa.pub.pem');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(otherFile, other.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(pubFile, publicKey.export({ type: 'spki', format: 'pem' }));
    const signed = join(temp.dir, 'signed-rs.tar.gz');
    expect(await compile(['--target', 'bundle', '-o', signed, '--signing-key', keyFile, '--signing-alg', 'RS256'])).toMatchObject({ code: 0 });
    const files = await readTarGz(readFileSync(signed));
    expect(files.has('.signatures.json')).toBe(true);
    const verify = ['--verification-key', pubFile, '--verification-key-id', 'ape', '--signing-alg', 'RS256'];

    expect(await opaAccepts([...verify, '-b', signed])).toEqual({ ok: true, logs: '' });

    const tampered = join(temp.dir, 'tampered-rs.tar.gz');
    await tamper(signed, tampered);
    const rejected = await opaAccepts([...verify, '-b', tampered]);
    expect(rejected.ok).toBe(false);
    expect(rejected.logs).toMatch(/digest mismatch|verif/i);

    const wrongKey = join(temp.dir, 'wrong-key.tar.gz');
    expect(await compile(['--target', 'bundle', '-o', wrongKey, '--signing-key', otherFile, '--signing-alg', 'RS256'])).toMatchObject({ code: 0 });
    expect((await opaAccepts([...verify, '-b', wrongKey])).ok).toBe(false);

    const unsigned = join(temp.dir, 'unsigned.tar.gz');
    expect(await compile(['--target', 'bundle', '-o', unsigned])).toMatchObject({ code: 0 });
    expect((await opaAccepts([...verify, '-b', unsigned])).ok).toBe(false);
  });

  it('HS256: OPA with the shared secret accepts the bundle and rejects a tampered one', async () => {
    const secret = 'correct horse battery staple';
    const keyFile = join(temp.dir, 'hs.key');
    writeFileSync(keyFile, `${secret}\n`);
    const signed = join(temp.dir, 'signed-hs.tar.gz');
    expect(await compile(['--target', 'bundle', '-o', signed, '--signing-key', keyFile, '--signing-alg', 'HS256'])).toMatchObject({ code: 0 });
    const verify = ['--verification-key', secret, '--verification-key-id', 'ape', '--signing-alg', 'HS256'];
    expect(await opaAccepts([...verify, '-b', signed])).toEqual({ ok: true, logs: '' });
    const tampered = join(temp.dir, 'tampered-hs.tar.gz');
    await tamper(signed, tampered);
    expect((await opaAccepts([...verify, '-b', tampered])).ok).toBe(false);
    expect((await opaAccepts(['--verification-key', 'another secret', '--verification-key-id', 'ape', '--signing-alg', 'HS256', '-b', signed])).ok).toBe(false);
  });

  it('hashes JSON files over the canonical form OPA verifies (keys sorted, compact)', () => {
    const a = bundleFileHash({ path: 'data.json', content: Buffer.from('{"b": 1, "a": "x\\u2028"}') });
    const b = bundleFileHash({ path: 'data.json', content: Buffer.from('{"a":"x\u2028","b":1}') });
    expect(a).toBe(b);
  });
});

describe('ape compile --target wasm', () => {
  it('yields a wasm bundle whose entrypoints decide like native: facts_decision on engine input, decision on the raw request', async () => {
    const file = join(temp.dir, 'wasm.tar.gz');
    expect(await compile(['--target', 'wasm', '-o', file])).toMatchObject({ code: 0 });
    const files = await readTarGz(readFileSync(file));
    expect(files.has('policy.wasm')).toBe(true);
    const engine = await OpaWasmEngine.load(readFileSync(file), 'ape/scoped_access/facts_decision', policy.hash);
    const raw = await OpaWasmEngine.load(readFileSync(file), 'ape/scoped_access/decision', policy.hash);
    const native = new NativeEngine(policy.ir, policy.hash);
    const preparer = new RequestPreparer(policy.ir);
    for (const example of policy.examples) {
      const input = preparer.prepare(example);
      const { engine: _a, ...actual } = engine.decideSync(input);
      const { engine: _b, ...expected } = native.decideSync(input);
      expect(actual).toEqual(expected);
      const request = { action: example.action, params: example.params, context: example.context } as unknown as EngineInput;
      const { engine: _c, ...fromRequest } = raw.decideSync(request);
      expect(fromRequest).toEqual(expected);
    }
  });
});
