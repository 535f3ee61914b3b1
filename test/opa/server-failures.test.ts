/** The opa-server engine fails closed: refused connections, timeouts, non-200 answers, undefined or foreign decisions are typed errors. */
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OpaServerEngine, OpaServerResponseError, OpaServerTimeoutError, OpaServerUnreachableError } from '../../src/adapters/opa-server/index.js';
import { OpaInvalidDecisionError, OpaUndefinedDecisionError } from '../../src/adapters/opa/decision.js';
import { policyBundle } from '../../src/adapters/opa/bundle.js';
import { compilePolicyFile, compilePolicySource } from '../../src/compiler/compile.js';
import { RequestPreparer } from '../../src/compiler/engine-input.js';
import { EngineError } from '../../src/errors.js';
import { createEvaluator } from '../../src/evaluator.js';
import { freePort, startOpa, tempDir } from './helpers.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const policy = compilePolicyFile(join(ROOT, 'policies/scoped_access.yaml'));
const example = policy.examples.find((e) => e.expect === 'allow');
if (!example) throw new Error('scoped_access needs an allowed example');
const input = new RequestPreparer(policy.ir).prepare(example);
const temp = tempDir('ape-opa-fail-');
const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  temp.remove();
});

function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`)));
}

async function rejection(engine: OpaServerEngine): Promise<unknown> {
  try {
    const result = await engine.decide(input);
    return result;
  } catch (error) {
    return error;
  }
}

describe('opa-server fails closed', () => {
  it('connection refused -> OpaServerUnreachableError', async () => {
    const port = await freePort();
    const error = await rejection(new OpaServerEngine(policy, { url: `http://127.0.0.1:${port}` }));
    expect(error).toBeInstanceOf(OpaServerUnreachableError);
    expect((error as EngineError).code).toBe('APE_ENGINE_FAILED');
  });

  it('a server that never answers -> OpaServerTimeoutError', async () => {
    const url = await listen(() => {
      // never respond
    });
    const error = await rejection(new OpaServerEngine(policy, { url, timeoutMs: 200 }));
    expect(error).toBeInstanceOf(OpaServerTimeoutError);
  });

  it('a non-200 answer -> OpaServerResponseError', async () => {
    const url = await listen((_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"code":"internal_error"}');
    });
    const error = await rejection(new OpaServerEngine(policy, { url }));
    expect(error).toBeInstanceOf(OpaServerResponseError);
    expect((error as OpaServerResponseError).status).toBe(500);
  });

  it('a 200 answer claiming allow in the wrong shape or for another policy is refused', async () => {
    const forged = { decision: 'allow', rule: 'x', matched: ['x'], reasons: [], policy_hash: 'sha256:0000' };
    const url = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ result: forged }));
    });
    expect(await rejection(new OpaServerEngine(policy, { url }))).toBeInstanceOf(OpaInvalidDecisionError);
    const notJson = await listen((_req, res) => {
      res.writeHead(200);
      res.end('allow');
    });
    expect(await rejection(new OpaServerEngine(policy, { url: notJson }))).toBeInstanceOf(OpaServerResponseError);
  });

  it('real OPA: no such policy -> undefined decision; another version of the policy -> invalid; token auth without a token -> non-200', async () => {
    const empty = await startOpa([]);
    try {
      expect(await rejection(new OpaServerEngine(policy, { url: empty.url }))).toBeInstanceOf(OpaUndefinedDecisionError);
    } finally {
      await empty.stop();
    }
    const changed = compilePolicySource(
      'name: scoped_access\nversion: "2"\ndefault_decision: allow\nrules:\n  - { action: read_file, decision: allow }\n',
      'other.yaml',
    );
    const file = join(temp.dir, 'other.tar.gz');
    writeFileSync(file, await policyBundle(changed));
    const other = await startOpa(['-b', file]);
    try {
      expect(await rejection(new OpaServerEngine(policy, { url: other.url }))).toBeInstanceOf(OpaInvalidDecisionError);
    } finally {
      await other.stop();
    }
    const own = join(temp.dir, 'own.tar.gz');
    writeFileSync(own, await policyBundle(policy));
    const locked = await startOpa(['--authentication=token', '--authorization=basic', '-b', own], { waitFor: 'none' });
    try {
      let error: unknown;
      for (let i = 0; i < 100; i++) {
        error = await rejection(new OpaServerEngine(policy, { url: locked.url }));
        if (!(error instanceof OpaServerUnreachableError)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(error).toBeInstanceOf(OpaServerResponseError);
      expect((error as OpaServerResponseError).status).toBeGreaterThanOrEqual(400);
    } finally {
      await locked.stop();
    }
  });

  it('the evaluator rejects (never allows) when the server is gone', async () => {
    const port = await freePort();
    const evaluator = await createEvaluator(policy, 'opa-server', { opaUrl: `http://127.0.0.1:${port}` });
    await expect(evaluator.decide(example)).rejects.toBeInstanceOf(EngineError);
    await expect(createEvaluator(policy, 'opa-server', {})).rejects.toBeInstanceOf(EngineError);
  });
});
