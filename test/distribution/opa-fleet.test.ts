/** `ape bundle serve` feeding a real `opa run --server` (services + bundles): edits reach OPA; tampered or unsigned bundles are refused and the old policy keeps deciding. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTarGz, writeTarGz } from '../../src/adapters/opa/index.js';
import { bufferIO } from '../../src/cli/io.js';
import { stopBundleServers } from '../../src/cli/commands/bundle.js';
import { runCli } from '../../src/cli/program.js';
import { freePort, startOpa, tempDir } from '../opa/helpers.js';
import { compiled, opaDecision, replaceFile, rsaKeys, scopedVariant, scriptedServer, until } from './helpers.js';

const temp = tempDir('ape-fleet-');
afterAll(() => temp.remove());

const READ = { action: 'read_file', params: { path: '/workspace/README.md' } };

function opaConfig(port: number, options: { publicKey?: string; longPoll?: boolean }): string {
  const config = {
    services: { ape: { url: `http://127.0.0.1:${port}` } },
    bundles: {
      scoped_access: {
        service: 'ape',
        resource: 'bundles/scoped_access.tar.gz',
        polling: { min_delay_seconds: 1, max_delay_seconds: 1, ...(options.longPoll ? { long_polling_timeout_seconds: 10 } : {}) },
        ...(options.publicKey ? { signing: { keyid: 'fleet' } } : {}),
      },
    },
    ...(options.publicKey ? { keys: { fleet: { key: options.publicKey, algorithm: 'RS256' } } } : {}),
  };
  const file = join(temp.dir, `opa-${port}-${options.publicKey ? 'signed' : 'plain'}.json`);
  writeFileSync(file, JSON.stringify(config));
  return file;
}

/** Runs `ape bundle serve` in-process until `stopBundleServers()`; resolves once it prints its URLs. */
async function serve(args: string[]): Promise<{ io: ReturnType<typeof bufferIO>; done: Promise<number> }> {
  const io = bufferIO();
  const done = runCli(['bundle', 'serve', ...args], io);
  await until('ape bundle serve to listen', () => io.stdout.includes('serving ') || io.exitCode !== 0 || undefined, 10_000, 20);
  return { io, done };
}

describe('ape bundle serve -> opa run --server', () => {
  it('unsigned, plain polling: an edit reaches OPA within the polling interval and changes its decision', async () => {
    const file = join(temp.dir, 'plain', 'scoped_access.yaml');
    const v1 = scopedVariant('2.0.0');
    const v2 = scopedVariant('2.1.0', '/srv/');
    mkdirSync(join(temp.dir, 'plain'), { recursive: true });
    writeFileSync(file, v1);
    const port = await freePort();
    const server = await serve([file, '--listen', `127.0.0.1:${port}`]);
    expect(server.io.stdout).toContain(`serving http://127.0.0.1:${port}/bundles/scoped_access.tar.gz 2.0.0 ${compiled(v1).hash}`);
    const opa = await startOpa(['-c', opaConfig(port, {})]);
    try {
      const first = await until('OPA to load v1', () => opaDecision(opa.url, compiled(v1), READ));
      expect(first).toMatchObject({ decision: 'allow', policy_hash: compiled(v1).hash });
      replaceFile(file, v2);
      const second = await until('OPA to load v2', async () => {
        const d = await opaDecision(opa.url, compiled(v2), READ);
        return d?.policy_hash === compiled(v2).hash ? d : undefined;
      });
      expect(second.decision).toBe('deny');
      expect(server.io.stderr).toContain(`rebuilt scoped_access 2.1.0 ${compiled(v2).hash}`);
    } finally {
      await opa.stop();
      await stopBundleServers();
    }
    expect(await server.done).toBe(0);
  }, 60_000);

  it('signed, long polling: an edit reaches OPA; a tampered then an unsigned bundle are refused by OPA, which keeps deciding with the last good policy', async () => {
    const keys = rsaKeys();
    const keyFile = join(temp.dir, 'fleet.pem');
    writeFileSync(keyFile, keys.privateKey);
    const dir = join(temp.dir, 'signed');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'scoped_access.yaml');
    const v1 = scopedVariant('2.0.0');
    const v2 = scopedVariant('2.1.0', '/srv/');
    const v3 = scopedVariant('2.2.0', '/');
    writeFileSync(file, v1);
    const port = await freePort();
    const server = await serve([file, '--listen', `127.0.0.1:${port}`, '--signing-key', keyFile, '--key-id', 'fleet']);
    expect(server.io.stdout).toContain('(signed)');
    const opa = await startOpa(['-c', opaConfig(port, { publicKey: keys.publicKey, longPoll: true })]);
    try {
      await until('OPA to load signed v1', () => opaDecision(opa.url, compiled(v1), READ));
      replaceFile(file, v2);
      const changed = await until('OPA to load signed v2', async () => {
        const d = await opaDecision(opa.url, compiled(v2), READ);
        return d?.policy_hash === compiled(v2).hash ? d : undefined;
      });
      expect(changed.decision).toBe('deny');

      // The APE server goes away; an attacker's server on the same address serves v3 (allows everything under /) tampered or unsigned.
      await stopBundleServers();
      await server.done;
      const buildDir = join(temp.dir, 'v3');
      const v3File = join(dir, 'v3.yaml');
      writeFileSync(v3File, v3);
      const io = bufferIO();
      expect(await runCli(['bundle', 'build', v3File, '-o', buildDir, '--signing-key', keyFile, '--key-id', 'fleet'], io)).toBe(0);
      const signedV3 = readFileSync(join(buildDir, 'bundles', 'scoped_access.tar.gz'));
      // Tampered: the signed v2 bundle's Rego swapped for v3's, the signature kept.
      const v2Build = join(temp.dir, 'v2');
      writeFileSync(join(dir, 'v2.yaml'), v2);
      expect(await runCli(['bundle', 'build', join(dir, 'v2.yaml'), '-o', v2Build, '--signing-key', keyFile, '--key-id', 'fleet'], bufferIO())).toBe(0);
      const v2Files = await readTarGz(readFileSync(join(v2Build, 'bundles', 'scoped_access.tar.gz')));
      const v3Files = await readTarGz(signedV3);
      const tampered = await writeTarGz([...v2Files].map(([path, content]) => ({ path, content: path.endsWith('.rego') ? (v3Files.get(path) as Buffer) : content })));
      expect(await runCli(['bundle', 'build', v3File, '-o', join(temp.dir, 'v3u')], bufferIO())).toBe(0);
      const unsigned = readFileSync(join(temp.dir, 'v3u', 'bundles', 'scoped_access.tar.gz'));

      for (const [label, bytes] of [['tampered', tampered], ['unsigned', unsigned]] as const) {
        const attacker = await scriptedServer((_req, res) => res.writeHead(200, { 'content-type': 'application/gzip', etag: `"${label}"` }).end(bytes), port);
        try {
          await until(`OPA to fetch the ${label} bundle twice`, () => attacker.requests.length >= 2 || undefined);
          const still = await opaDecision(opa.url, compiled(v2), READ);
          expect(still).toMatchObject({ decision: 'deny', policy_hash: compiled(v2).hash });
        } finally {
          await attacker.close();
        }
      }
      expect(opa.logs()).toMatch(/Bundle load failed: ape\/scoped_access\/policy\.rego: digest mismatch/);
      expect(opa.logs()).toMatch(/Bundle load failed: bundle missing \.signatures\.json file/);
    } finally {
      await opa.stop();
      await stopBundleServers();
    }
  }, 90_000);
});
