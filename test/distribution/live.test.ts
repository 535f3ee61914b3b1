/**
 * Live reload from a watched file and a polled URL: swaps, and every failure mode on a loopback server (bad status, timeout,
 * garbage, bad signature, unsigned, older revision) keeps the old policy with a typed error, an event and the status.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BundleServer,
  FilePolicySource,
  LivePolicy,
  UrlPolicySource,
  distributionBundle,
  startWebhookServer,
  type PolicyReloadEvent,
} from '../../src/distribution/index.js';
import { tempDir } from '../opa/helpers.js';
import { compiled, replaceFile, rsaKeys, scopedVariant, scriptedServer, until } from './helpers.js';

const temp = tempDir('ape-live-');
afterAll(() => temp.remove());

const V1 = scopedVariant('2.0.0');
const V2 = scopedVariant('2.1.0', '/srv/');
const V3 = scopedVariant('2.2.0', '/data/');

function file(name: string, content: string): string {
  const dir = join(temp.dir, name);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'policy.yaml');
  writeFileSync(path, content);
  return path;
}

function recorder(live: LivePolicy): PolicyReloadEvent[] {
  const events: PolicyReloadEvent[] = [];
  live.on((e) => events.push(e));
  return events;
}

describe('LivePolicy from a watched file', () => {
  it('swaps on an edit (content hash, debounced) and keeps the policy on a bad edit, a rollback or a replaced revision', async () => {
    const path = file('watched', V1);
    const live = await LivePolicy.open(new FilePolicySource(path, { debounceMs: 20 }));
    const events = recorder(live);
    const swapped: string[] = [];
    live.bind((next) => void swapped.push(next.hash));
    live.start();
    try {
      expect(live.policy.hash).toBe(compiled(V1).hash);
      replaceFile(path, V2);
      await until('the swap to v2', () => live.policy.hash === compiled(V2).hash || undefined);
      expect(swapped).toEqual([compiled(V2).hash]);
      expect(events.at(-1)).toMatchObject({ type: 'policy.swapped', previousHash: compiled(V1).hash, hash: compiled(V2).hash, version: '2.1.0', source: `file:${path}` });

      replaceFile(path, 'name: scoped_access\nrules: [ {');
      await until('the compile failure', () => events.find((e) => e.type === 'policy.refused'));
      expect(live.policy.hash).toBe(compiled(V2).hash);
      expect(live.status()).toMatchObject({ hash: compiled(V2).hash, lastAttempt: { outcome: 'refused' }, lastError: { code: 'APE_POLICY_INVALID' } });

      replaceFile(path, V1); // an older version
      await until('the rollback refusal', () => events.find((e) => e.type === 'policy.refused' && e.code === 'APE_POLICY_ROLLBACK'));
      expect(live.policy.hash).toBe(compiled(V2).hash);

      const sameVersionAsV1 = V1.replace('version: "2.0.0"', 'version: "2.1.0"');
      replaceFile(path, sameVersionAsV1); // v2's version, new content: accepted
      await until('the same-version edit', () => live.policy.hash === compiled(sameVersionAsV1).hash || undefined);
      replaceFile(path, V2); // v2 again: a revision already replaced at the same version
      await until('the replaced-revision refusal', () => events.filter((e) => e.type === 'policy.refused' && e.code === 'APE_POLICY_ROLLBACK').length === 2 || undefined);
      expect(live.policy.hash).toBe(compiled(sameVersionAsV1).hash);
      expect(swapped).toHaveLength(2);
      expect(live.status()).toMatchObject({ swaps: 2, version: '2.1.0', source: `file:${path}` });
    } finally {
      await live.close();
    }
  });

  it('a swap target that throws refuses the policy (typed), the old one stays', async () => {
    const path = file('target', V1);
    const live = await LivePolicy.open(new FilePolicySource(path, { debounceMs: 20 }));
    live.bind(() => {
      throw new Error('engine would not load it');
    });
    live.start();
    try {
      replaceFile(path, V2);
      await until('the refusal', () => live.status().lastError);
      expect(live.status()).toMatchObject({ hash: compiled(V1).hash, swaps: 0, lastError: { code: 'APE_POLICY_SWAP', message: 'engine would not load it' } });
    } finally {
      await live.close();
    }
  });

  it('the initial load fails with a typed error (missing file, invalid policy)', async () => {
    await expect(LivePolicy.open(new FilePolicySource(join(temp.dir, 'nope.yaml')))).rejects.toMatchObject({ code: 'APE_POLICY_FETCH' });
    await expect(LivePolicy.open(new FilePolicySource(file('invalid', 'name: x\nrules: 3\n')))).rejects.toMatchObject({ code: 'APE_POLICY_INVALID' });
  });
});

describe('LivePolicy from a URL (loopback server)', () => {
  it('uses If-None-Match with the ETag: a 304 changes nothing, a new body swaps', async () => {
    let body = V1;
    let etag = '"one"';
    const server = await scriptedServer((req, res) => {
      if (req.headers['if-none-match'] === etag) res.writeHead(304, { etag }).end();
      else res.writeHead(200, { etag, 'content-type': 'application/yaml' }).end(body);
    });
    const live = await LivePolicy.open(new UrlPolicySource(`${server.url}/p.yaml`, { intervalMs: 60_000 }));
    try {
      live.start();
      await live.refresh();
      expect(server.requests.at(-1)?.headers['if-none-match']).toBe('"one"');
      expect(live.status()).toMatchObject({ hash: compiled(V1).hash, swaps: 0, lastAttempt: { outcome: 'unchanged' } });
      body = V2;
      etag = '"two"';
      expect(await live.refresh()).toMatchObject({ hash: compiled(V2).hash, swaps: 1, lastAttempt: { outcome: 'swapped' } });
    } finally {
      await live.close();
      await server.close();
    }
  });

  it.each([
    ['a bad status', 'APE_POLICY_FETCH', /HTTP 503/, (res: import('node:http').ServerResponse) => res.writeHead(503).end('down')],
    ['garbage', 'APE_POLICY_INVALID', /.+/, (res: import('node:http').ServerResponse) => res.writeHead(200, { etag: '"g"' }).end('\u0000\u0001 not: [ yaml')],
    ['garbage gzip', 'APE_BUNDLE_FORMAT', /not a gzip stream|not a tar archive/, (res: import('node:http').ServerResponse) => res.writeHead(200, { etag: '"z"' }).end(Buffer.from([0x1f, 0x8b, 1, 2, 3]))],
    ['an older revision', 'APE_POLICY_ROLLBACK', /from version 2\.0\.0 to 1\.9\.0/, (res: import('node:http').ServerResponse) => res.writeHead(200, { etag: '"o"' }).end(scopedVariant('1.9.0', '/'))],
    ['another policy', 'APE_POLICY_SWAP', /the source now offers 'other'/, (res: import('node:http').ServerResponse) => res.writeHead(200, { etag: '"x"' }).end(V3.replace('name: scoped_access', 'name: other'))],
  ])('keeps the old policy on %s', async (_label, code, message, failure) => {
    let fail = false;
    const server = await scriptedServer((_req, res) => (fail ? failure(res) : res.writeHead(200, { etag: '"v1"' }).end(V1)));
    const live = await LivePolicy.open(new UrlPolicySource(`${server.url}/p`, { intervalMs: 60_000 }));
    const events = recorder(live);
    try {
      live.start();
      await live.refresh();
      fail = true;
      const status = await live.refresh();
      expect(status).toMatchObject({ hash: compiled(V1).hash, swaps: 0, lastAttempt: { outcome: 'refused' }, lastError: { code } });
      expect(status.lastError?.message).toMatch(message);
      expect(events).toEqual([expect.objectContaining({ type: 'policy.refused', code, currentHash: compiled(V1).hash })]);
    } finally {
      await live.close();
      await server.close();
    }
  });

  it('keeps the old policy when the server does not answer in time, and backs off', async () => {
    let hang = false;
    const server = await scriptedServer((_req, res) => {
      if (!hang) res.writeHead(200, { etag: '"v1"' }).end(V1);
    });
    const source = new UrlPolicySource(`${server.url}/p`, { intervalMs: 60_000, timeoutMs: 200, backoffMinMs: 500, backoffMaxMs: 2000 });
    const live = await LivePolicy.open(source);
    try {
      live.start();
      await live.refresh();
      hang = true;
      const status = await live.refresh();
      expect(status).toMatchObject({ hash: compiled(V1).hash, lastError: { code: 'APE_POLICY_FETCH', message: expect.stringMatching(/no answer within 200 ms/) } });
      expect([1, 2, 3, 4, 5].map((n) => source.backoffDelay(n))).toEqual([500, 1000, 2000, 2000, 2000]);
      expect(source.backoffDelay(0)).toBe(60_000);
    } finally {
      await live.close();
      await server.close();
    }
  });

  it('with pinned keys: a bad signature, an unsigned bundle and plain YAML are refused; a good signed bundle swaps', async () => {
    const keys = rsaKeys();
    const attacker = rsaKeys();
    const signing = { key: keys.privateKey, algorithm: 'RS256' as const, keyId: 'ops' };
    let body: Buffer = await distributionBundle(compiled(V1), V1, signing);
    let n = 0;
    const server = await scriptedServer((_req, res) => res.writeHead(200, { etag: `"${++n}"` }).end(body));
    const live = await LivePolicy.open(new UrlPolicySource(`${server.url}/bundles/scoped_access.tar.gz`, { intervalMs: 60_000 }), {
      verification: { ops: { key: keys.publicKey, algorithm: 'RS256' } },
    });
    try {
      live.start();
      expect(live.status().signedBy).toBe('ops');
      for (const [bad, code] of [
        [await distributionBundle(compiled(V2), V2, { ...signing, key: attacker.privateKey }), 'APE_BUNDLE_SIGNATURE'],
        [await distributionBundle(compiled(V2), V2), 'APE_BUNDLE_SIGNATURE'],
        [Buffer.from(V2), 'APE_BUNDLE_SIGNATURE'],
      ] as const) {
        body = bad;
        expect(await live.refresh()).toMatchObject({ hash: compiled(V1).hash, lastAttempt: { outcome: 'refused' }, lastError: { code } });
      }
      body = await distributionBundle(compiled(V2), V2, signing);
      expect(await live.refresh()).toMatchObject({ hash: compiled(V2).hash, signedBy: 'ops', lastAttempt: { outcome: 'swapped' } });
      // Replaying the old signed bundle is a rollback.
      body = await distributionBundle(compiled(V1), V1, signing);
      expect(await live.refresh()).toMatchObject({ hash: compiled(V2).hash, lastError: { code: 'APE_POLICY_ROLLBACK' } });
    } finally {
      await live.close();
      await server.close();
    }
  });

  it("long polls APE's bundle server: an edit arrives long before the polling interval", async () => {
    const path = file('served', V1);
    const server = await BundleServer.start({ policies: [path], debounceMs: 20 });
    const live = await LivePolicy.open(new UrlPolicySource(`${server.url}/bundles/scoped_access.tar.gz`, { intervalMs: 600_000, longPollSeconds: 30 }));
    try {
      live.start();
      await new Promise((r) => setTimeout(r, 200));
      replaceFile(path, V2);
      await until('the long-polled swap', () => live.policy.hash === compiled(V2).hash || undefined, 10_000);
    } finally {
      await live.close();
      await server.close();
    }
  });
});

describe('webhook', () => {
  it('only triggers a fetch from the configured source: the body is ignored, the token is required, GET is refused', async () => {
    let body = V1;
    let version = 1;
    const origin = await scriptedServer((_req, res) => res.writeHead(200, { etag: `"${version}"` }).end(body));
    const live = await LivePolicy.open(new UrlPolicySource(`${origin.url}/p`, { intervalMs: 600_000 }));
    live.start();
    await live.refresh();
    const hook = await startWebhookServer(live, { token: 'a-webhook-token-1234' });
    try {
      body = V2;
      version = 2;
      const auth = { authorization: 'Bearer a-webhook-token-1234' };
      expect((await fetch(hook.url, { method: 'POST', body: V3 })).status).toBe(401);
      expect((await fetch(hook.url, { method: 'GET', headers: auth })).status).toBe(405);
      expect(live.policy.hash).toBe(compiled(V1).hash);
      const response = await fetch(hook.url, { method: 'POST', headers: auth, body: V3 });
      expect(response.status).toBe(202);
      expect(await response.json()).toMatchObject({ policy: { hash: compiled(V2).hash }, lastAttempt: { outcome: 'swapped' } });
      expect(live.policy.hash).toBe(compiled(V2).hash); // from the source, never the V3 posted
      expect((await fetch(hook.url, { method: 'POST', headers: auth, body: 'x'.repeat(70_000) }).catch(() => ({ status: 413 }))).status).toBe(413);
    } finally {
      await hook.close();
      await live.close();
      await origin.close();
    }
  });
});
