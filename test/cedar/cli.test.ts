/** `ape compile --target cedar` and `ape eval --engine cedar`, driven in-process; the engine fails closed. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CedarEngine } from '../../src/adapters/cedar/index.js';
import { runCli } from '../../src/cli/program.js';
import { bufferIO } from '../../src/cli/io.js';
import { compilePolicyFile } from '../../src/compiler/compile.js';
import { EngineError } from '../../src/errors.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const policy = (name: string) => join(ROOT, 'policies', name);
const out = mkdtempSync(join(tmpdir(), 'ape-cedar-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** A conformance policy that uses `regex`, which Cedar cannot express. */
const EVERY_OPERATOR = join(ROOT, 'test/conformance/policies/every_operator.yaml');

describe('ape compile --target cedar', () => {
  it('writes <name>.cedar, .cedarschema, .cedarschema.json and .raw.cedar, identical to the committed files', async () => {
    const io = bufferIO();
    expect(await runCli(['compile', policy('scoped_access.yaml'), '--target', 'cedar', '-o', out], io)).toBe(0);
    for (const file of ['scoped_access.cedar', 'scoped_access.cedarschema', 'scoped_access.cedarschema.json', 'scoped_access.raw.cedar']) {
      expect(io.stderr).toContain(join(out, file));
      expect(readFileSync(join(out, file), 'utf8')).toBe(readFileSync(join(ROOT, 'cedar', file), 'utf8'));
    }
  });

  it('exits 1 with the diagnostic on a policy that uses regex', async () => {
    const io = bufferIO();
    expect(await runCli(['compile', EVERY_OPERATOR, '--target', 'cedar', '-o', out], io)).toBe(1);
    expect(io.stderr).toMatch(/rule 'name-length'.*operator 'regex'.*target cedar/);
  });
});

describe('ape eval --engine cedar', () => {
  const cases: [string, string[]][] = [
    ['allow', ['read_file', '-p', 'path=/workspace/README.md']],
    ['deny by rule', ['write_file', '-p', 'path=/workspace/.env', '-p', 'content=x', '-p', 'size=1']],
    ['default deny with reasons', ['http_get', '-p', 'url=https://example.com.evil.io/']],
    ['escalate', ['http_post', '-p', 'url=https://api.example.com/u', '-p', 'size=100000']],
  ];
  for (const [label, args] of cases) {
    it(`${label}: same exit code and decision as native`, async () => {
      const native = bufferIO();
      const cedar = bufferIO();
      const nativeCode = await runCli(['eval', policy('scoped_access.yaml'), ...args, '--json'], native);
      const cedarCode = await runCli(['eval', policy('scoped_access.yaml'), ...args, '--json', '--engine', 'cedar'], cedar);
      expect(cedarCode).toBe(nativeCode);
      const n = JSON.parse(native.stdout) as Record<string, unknown>;
      const c = JSON.parse(cedar.stdout) as Record<string, unknown>;
      expect(c['engine']).toBe('cedar');
      expect({ ...c, engine: 'native' }).toEqual(n);
    });
  }

  it('exits 1 with the diagnostic on a policy that uses regex', async () => {
    const io = bufferIO();
    expect(await runCli(['eval', EVERY_OPERATOR, 'search_files', '-p', 'path=/var/logs/', '-p', 'pattern=a', '--engine', 'cedar'], io)).toBe(1);
    expect(io.stderr).toMatch(/rule 'name-length'.*operator 'regex'.*target cedar/);
  });
});

describe('the cedar engine fails closed', () => {
  const engine = new CedarEngine(compilePolicyFile(policy('scoped_access.yaml')));
  it('a value Cedar cannot represent (lone surrogate) is an EngineError, never an allow', async () => {
    await expect(engine.decide({ action: 'read_file', facts: { path: '/workspace/\ud800' } })).rejects.toBeInstanceOf(EngineError);
    await expect(engine.decide({ action: 'read_file\udc00', facts: {} })).resolves.toMatchObject({ decision: 'deny', rule: null });
  });
  it('a closed engine refuses to decide', async () => {
    const closed = new CedarEngine(compilePolicyFile(policy('scoped_access.yaml')));
    await closed.close();
    await expect(closed.decide({ action: 'read_file', facts: { path: '/workspace/a' } })).rejects.toBeInstanceOf(EngineError);
  });
});
