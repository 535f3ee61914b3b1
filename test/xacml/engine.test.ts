/**
 * The xacml engine fails closed: a PDP that is unreachable, slow, answers non-200 or garbage,
 * decides NotApplicable or Indeterminate, or serves another policy is a typed error, never an
 * allow. Also `ape eval --engine xacml --xacml-url` against a real AuthzForce PDP.
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/adapters/registry.js';
import {
  XacmlEngine,
  XacmlInconsistentError,
  XacmlNotDecidedError,
  XacmlPdpResponseError,
  XacmlPdpTimeoutError,
  XacmlPdpUnreachableError,
} from '../../src/adapters/xacml/index.js';
import { runCli } from '../../src/cli/program.js';
import { bufferIO } from '../../src/cli/io.js';
import { compilePolicyFile } from '../../src/compiler/compile.js';
import type { EngineInput } from '../../src/compiler/ir.js';
import { compileXacml, XacmlUnrepresentableError } from '../../src/compiler/xacml/index.js';
import { EngineError } from '../../src/errors.js';
import { freePort } from '../setup/ports.js';
import { startAuthzforce, type RunningPdp } from '../setup/authzforce.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const policyFile = (name: string) => join(ROOT, 'policies', name);
const scoped = compilePolicyFile(policyFile('scoped_access.yaml'));
const minimal = compilePolicyFile(policyFile('minimal_safe.yaml'));
const readOnly = compilePolicyFile(policyFile('read_only.yaml'));
const development = compilePolicyFile(policyFile('development.yaml'));
const ALLOWED: EngineInput = { action: 'read_file', facts: { path: '/workspace/a.md' } };

let pdp: RunningPdp | undefined;
const fakes: Server[] = [];

beforeAll(async () => {
  pdp = await startAuthzforce(
    [
      { hash: scoped.hash, set: compileXacml(scoped) },
      // Another policy's PolicySet served under read_only's hash: the engine must notice.
      { hash: readOnly.hash, set: compileXacml(minimal) },
    ],
    110_000,
  );
});
afterAll(async () => {
  await pdp?.stop();
  await Promise.all(fakes.map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A loopback HTTP server that answers every request with `handler`. */
async function fake(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  fakes.push(server);
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return `http://127.0.0.1:${port}/pdp`;
}

describe('xacml engine against a real PDP', () => {
  it('decides allow, deny and escalate with native’s rule, matched and reasons', async () => {
    const engine = new XacmlEngine(scoped, { url: (pdp as RunningPdp).url });
    expect(await engine.decide(ALLOWED)).toMatchObject({ decision: 'allow', rule: 'workspace-read', engine: 'xacml', policy_hash: scoped.hash });
    expect(await engine.decide({ action: 'delete_file', facts: { path: '/workspace/a' } })).toMatchObject({ decision: 'deny', rule: 'no-delete' });
    expect(await engine.decide({ action: 'http_post', facts: { 'url.scheme': 'https', 'url.host': 'api.github.com' } })).toMatchObject({
      decision: 'escalate',
      rule: 'post-unknown-size',
      matched: ['api-domains', 'post-unknown-size'],
    });
    expect((await engine.decide({ action: 'read_file', facts: { path: '/etc/passwd' } })).reasons).toEqual([
      "rule 'workspace-read': path '/etc/passwd' does not start with any of '/workspace/'",
    ]);
  });

  it('NotApplicable (no PolicySet for this policy) is a typed error', async () => {
    const engine = new XacmlEngine(development, { url: (pdp as RunningPdp).url });
    await expect(engine.decide(ALLOWED)).rejects.toBeInstanceOf(XacmlNotDecidedError);
    await expect(engine.decide(ALLOWED)).rejects.toThrow(/decided NotApplicable/);
  });

  it('a PDP serving another policy is caught by the explain advice, not trusted', async () => {
    const engine = new XacmlEngine(readOnly, { url: (pdp as RunningPdp).url });
    await expect(engine.decide(ALLOWED)).rejects.toBeInstanceOf(XacmlInconsistentError);
  });

  it('ape eval --engine xacml --xacml-url gives native’s decision and exit code', async () => {
    const cases = [
      ['read_file', '-p', 'path=/workspace/../workspace/README.md'],
      ['write_file', '-p', 'path=/workspace/.env', '-p', 'content=x', '-p', 'size=1'],
      ['http_post', '-p', 'url=https://API.EXAMPLE.COM./u', '-p', 'size=100000'],
      ['http_get', '-p', 'url=https://example.com.evil.io/'],
    ];
    for (const args of cases) {
      const native = bufferIO();
      const xacml = bufferIO();
      const nativeCode = await runCli(['eval', policyFile('scoped_access.yaml'), ...args, '--json'], native);
      const xacmlCode = await runCli(['eval', policyFile('scoped_access.yaml'), ...args, '--json', '--engine', 'xacml', '--xacml-url', (pdp as RunningPdp).url], xacml);
      expect(xacmlCode, args.join(' ')).toBe(nativeCode);
      expect({ ...(JSON.parse(xacml.stdout) as object), engine: 'native' }).toEqual(JSON.parse(native.stdout));
    }
  });
});

describe('xacml engine fails closed', () => {
  it('unreachable PDP', async () => {
    const url = `http://127.0.0.1:${await freePort()}/pdp`;
    await expect(new XacmlEngine(scoped, { url }).decide(ALLOWED)).rejects.toBeInstanceOf(XacmlPdpUnreachableError);
  });

  it('a PDP slower than the timeout', async () => {
    const url = await fake(() => undefined);
    await expect(new XacmlEngine(scoped, { url, timeoutMs: 200 }).decide(ALLOWED)).rejects.toBeInstanceOf(XacmlPdpTimeoutError);
  });

  it('non-200, non-JSON, several results, Indeterminate, and a Permit without the explain advice', async () => {
    const answers: [number, string, new (...args: never[]) => EngineError][] = [
      [500, 'boom', XacmlPdpResponseError],
      [200, '<Response/>', XacmlPdpResponseError],
      [200, '{"Response":[{"Decision":"Permit"},{"Decision":"Permit"}]}', XacmlPdpResponseError],
      [200, '{"Response":[{"Decision":"Indeterminate","Status":{"StatusCode":{"Value":"urn:oasis:names:tc:xacml:1.0:status:processing-error"}}}]}', XacmlNotDecidedError],
      [200, '{"Response":[{"Decision":"Permit"}]}', XacmlInconsistentError],
    ];
    for (const [status, body, type] of answers) {
      const url = await fake((_req, res) => {
        res.writeHead(status, { 'content-type': 'application/xacml+json' });
        res.end(body);
      });
      await expect(new XacmlEngine(scoped, { url }).decide(ALLOWED), body).rejects.toBeInstanceOf(type);
    }
  });

  it('an answer whose decision disagrees with its explanation is an error, not a decision', async () => {
    const explain = { Id: 'urn:ape:advice:explain', AttributeAssignment: [...Array(8).keys()].map((i) => ({ AttributeId: `urn:ape:explain:rule:${i}`, Value: i === 0 ? 'true' : 'false' })) };
    const body = JSON.stringify({ Response: [{ Decision: 'Deny', AssociatedAdvice: [explain, { Id: 'urn:ape:advice:decision', AttributeAssignment: [{ AttributeId: 'urn:ape:rule', Value: 'workspace-read' }] }] }] });
    const url = await fake((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/xacml+json' });
      res.end(body);
    });
    await expect(new XacmlEngine(scoped, { url }).decide(ALLOWED)).rejects.toBeInstanceOf(XacmlInconsistentError);
  });

  it('no URL, a bad URL, or a policy XACML cannot express', async () => {
    await expect(createEngine('xacml', scoped)).rejects.toThrow(/no PDP URL/);
    expect(() => new XacmlEngine(scoped, { url: 'ftp://x' })).toThrow(EngineError);
    const everyOperator = compilePolicyFile(join(ROOT, 'test/conformance/policies/every_operator.yaml'));
    expect(() => new XacmlEngine(everyOperator, { url: 'http://127.0.0.1:1/pdp' })).toThrow(XacmlUnrepresentableError);
    const io = bufferIO();
    expect(await runCli(['eval', policyFile('scoped_access.yaml'), 'read_file', '-p', 'path=/workspace/a', '--engine', 'xacml'], io)).toBe(1);
    expect(io.stderr).toMatch(/no PDP URL/);
  });
});
