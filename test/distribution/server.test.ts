/** The bundle server's protocol (ETag, 304, long polling with `Prefer: wait=`), recompiling on edits, keeping the last bundle on a bad edit; `ape bundle build`. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTarGz } from '../../src/adapters/opa/index.js';
import { bufferIO } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';
import { BundleServer, LONG_POLL_CONTENT_TYPE, openBundle, type BundleServerEvent } from '../../src/distribution/index.js';
import { tempDir } from '../opa/helpers.js';
import { compiled, replaceFile, scopedVariant, until } from './helpers.js';

const temp = tempDir('ape-bundle-server-');
afterAll(() => temp.remove());

function policyFile(name: string, source: string): string {
  const dir = join(temp.dir, name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'scoped_access.yaml');
  writeFileSync(file, source);
  return file;
}

describe('BundleServer', () => {
  it('answers 200 with an ETag, 304 to If-None-Match, 404 and 405 otherwise; the bundle opens to the same policy', async () => {
    const v1 = scopedVariant('2.0.0');
    const server = await BundleServer.start({ policies: [policyFile('proto', v1)] });
    try {
      const url = `${server.url}/bundles/scoped_access.tar.gz`;
      const first = await fetch(url);
      expect(first.status).toBe(200);
      expect(first.headers.get('content-type')).toBe('application/gzip');
      const etag = first.headers.get('etag') as string;
      expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
      const opened = await openBundle(Buffer.from(await first.arrayBuffer()), url);
      expect(opened.policy.hash).toBe(compiled(v1).hash);
      const again = await fetch(url, { headers: { 'if-none-match': etag } });
      expect(again.status).toBe(304);
      expect((await fetch(`${server.url}/bundles/other.tar.gz`)).status).toBe(404);
      expect((await fetch(`${server.url}/bundles/..%2Fscoped_access.tar.gz`)).status).toBe(404);
      expect((await fetch(url, { method: 'POST', body: 'x' })).status).toBe(405);
    } finally {
      await server.close();
    }
  });

  it('holds a long poll until the policy file changes, then answers the new bundle (OPA content type)', async () => {
    const file = policyFile('long', scopedVariant('2.0.0'));
    const events: BundleServerEvent[] = [];
    const server = await BundleServer.start({ policies: [file], debounceMs: 20, onEvent: (e) => events.push(e) });
    try {
      const url = `${server.url}/bundles/scoped_access.tar.gz`;
      const etag = (await fetch(url)).headers.get('etag') as string;
      let answered = false;
      const held = fetch(url, { headers: { 'if-none-match': etag, prefer: 'wait=30' } }).then((r) => {
        answered = true;
        return r;
      });
      await new Promise((r) => setTimeout(r, 300));
      expect(answered).toBe(false);
      const v2 = scopedVariant('2.1.0', '/srv/');
      replaceFile(file, v2);
      const response = await held;
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe(LONG_POLL_CONTENT_TYPE);
      expect(response.headers.get('etag')).not.toBe(etag);
      expect((await openBundle(Buffer.from(await response.arrayBuffer()), url)).policy.hash).toBe(compiled(v2).hash);
      expect(events).toEqual([expect.objectContaining({ type: 'bundle.built', hash: compiled(v2).hash })]);
      // No change within the wait: 304 with the long-poll content type.
      const timeout = await fetch(url, { headers: { 'if-none-match': response.headers.get('etag') as string, prefer: 'wait=1' } });
      expect(timeout.status).toBe(304);
      expect(timeout.headers.get('content-type')).toBe(LONG_POLL_CONTENT_TYPE);
    } finally {
      await server.close();
    }
  });

  it('keeps serving the last good bundle when an edit does not compile', async () => {
    const file = policyFile('bad-edit', scopedVariant('2.0.0'));
    const events: BundleServerEvent[] = [];
    const server = await BundleServer.start({ policies: [file], debounceMs: 20, onEvent: (e) => events.push(e) });
    try {
      const before = server.bundles()[0]?.etag;
      replaceFile(file, 'name: scoped_access\nrules: [ {');
      const kept = await until('the bad edit to be reported', () => events.find((e) => e.type === 'bundle.kept'));
      expect(kept).toMatchObject({ code: 'APE_POLICY_INVALID', name: 'scoped_access' });
      const response = await fetch(`${server.url}/bundles/scoped_access.tar.gz`);
      expect(response.headers.get('etag')).toBe(before);
      expect((await openBundle(Buffer.from(await response.arrayBuffer()), 'x')).policy.hash).toBe(compiled(scopedVariant('2.0.0')).hash);
    } finally {
      await server.close();
    }
  });

  it('refuses to start on a policy that does not compile, or two policies of one name (typed errors)', async () => {
    await expect(BundleServer.start({ policies: [policyFile('broken', 'name: x\nrules: 3\n')] })).rejects.toMatchObject({ code: 'APE_POLICY_INVALID' });
    const a = policyFile('twin-a', scopedVariant('2.0.0'));
    const b = policyFile('twin-b', scopedVariant('2.0.1'));
    await expect(BundleServer.start({ policies: [a, b] })).rejects.toMatchObject({ code: 'APE_DISTRIBUTION_OPTION' });
  });
});

describe('ape bundle build / serve (CLI)', () => {
  it('build writes <dir>/bundles/<policy name>.tar.gz for each policy', async () => {
    const io = bufferIO();
    const out = join(temp.dir, 'site');
    const code = await runCli(['bundle', 'build', 'policies/scoped_access.yaml', 'policies/read_only.yaml', '-o', out, '--json'], io);
    expect(io.stderr).toBe('');
    expect(code).toBe(0);
    const built = JSON.parse(io.stdout) as { name: string; written: string }[];
    expect(built.map((b) => b.written)).toEqual([join(out, 'bundles', 'scoped_access.tar.gz'), join(out, 'bundles', 'read_only.tar.gz')]);
    const files = await readTarGz(readFileSync(join(out, 'bundles', 'read_only.tar.gz')));
    expect([...files.keys()].sort()).toEqual(['.manifest', 'ape/read_only/policy.ape', 'ape/read_only/policy.rego', 'data.json']);
  });

  it('errors are one line with a stable code', async () => {
    const io = bufferIO();
    expect(await runCli(['bundle', 'serve', 'policies/scoped_access.yaml', '--listen', 'nowhere'], io)).toBe(1);
    expect(io.stderr.trim()).toBe("ape: --listen expects host:port (e.g. 127.0.0.1:8282), got 'nowhere'");
    const json = bufferIO();
    expect(await runCli(['bundle', 'build', 'nope.yaml', '-o', temp.dir, '--json'], json)).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({ error: { code: 'APE_POLICY_LOAD', message: 'nope.yaml: no such policy file' } });
    const missing = bufferIO();
    expect(await runCli(['bundle', 'build', 'nope.yaml', '-o', temp.dir], missing)).toBe(1);
    expect(missing.stderr.trim()).toBe('ape: nope.yaml: no such policy file');
    const key = bufferIO();
    expect(await runCli(['bundle', 'build', 'policies/scoped_access.yaml', '-o', temp.dir, '--signing-alg', 'RS256'], key)).toBe(1);
    expect(key.stderr.trim()).toBe('ape: --signing-alg and --key-id need --signing-key');
  });
});
