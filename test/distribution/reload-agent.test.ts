/**
 * Live reload in the agent layer: `watchApe(ape, source)` / `liveApe(policy, { source })` and `ape.policyStatus()`; reload under load
 * (many guarded calls while the policy swaps many times: each decision is one version's and its audit names that hash).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { Ape } from '../../src/agent/index.js';
import { compilePolicySource } from '../../src/compiler/index.js';
import { BundleServer, FilePolicySource, UrlPolicySource, liveApe, watchApe } from '../../src/distribution/index.js';
import { MemorySink, PolicyDenyError, TokenMismatchError } from '../../src/runtime/index.js';
import { tempDir } from '../opa/helpers.js';
import { replaceFile, rsaKeys, until } from './helpers.js';

const temp = tempDir('ape-reload-agent-');
afterAll(() => temp.remove());
const root = join(temp.dir, 'ws');
mkdirSync(root, { recursive: true });
writeFileSync(join(root, 'a.md'), 'A');

/** Version k of a policy: even versions allow reading the workspace, odd ones deny it (rule `closed-<k>`). */
function version(k: number): string {
  const rule =
    k % 2 === 0
      ? `  - id: open-${k}\n    action: read_file\n    decision: allow\n    conditions:\n      path: { prefix: ["${root}/"] }\n`
      : `  - id: closed-${k}\n    action: read_file\n    decision: deny\n    conditions:\n      path: { prefix: ["${root}/"] }\n`;
  return `name: live_test\nversion: "1.${k}.0"\ndefault_decision: deny\nrules:\n${rule}`;
}

function policyFile(name: string, text: string): string {
  const path = join(temp.dir, name);
  writeFileSync(path, text);
  return path;
}

describe('Ape live reload', () => {
  it('under load: every decision is made by exactly one version and audited with its hash; no call fails for lack of a policy', async () => {
    const SWAPS = 24;
    const hashes = new Map<string, number>();
    for (let k = 0; k <= SWAPS; k++) hashes.set(compilePolicySource(version(k)).hash, k);
    const audit = new MemorySink();
    const file = policyFile('load.yaml', version(0));
    const ape = await Ape.fromPolicy(file, { audit: [audit] });
    const live = watchApe(ape, new FilePolicySource(file));
    const read = ape.guard<{ path: string }, string>('read_file', async (p) => {
      await tick();
      return readFile(p.path, 'utf8');
    });
    const outcomes = { ran: 0, denied: 0, stale: 0 };
    let swapping = true;
    const worker = async () => {
      while (swapping) {
        await tick(); // denied calls settle in microtasks: yield so the swapper runs
        try {
          expect(await read({ path: join(root, 'a.md') })).toBe('A');
          outcomes.ran++;
        } catch (error) {
          if (error instanceof PolicyDenyError) outcomes.denied++;
          else if (error instanceof TokenMismatchError && error.field === 'policy') outcomes.stale++;
          else throw error;
        }
      }
    };
    const swapper = async () => {
      for (let k = 1; k <= SWAPS; k++) {
        for (let i = 0; i < 5; i++) await tick();
        expect(await live.offer({ bytes: Buffer.from(version(k)), origin: 'load' })).toBe('swapped');
      }
      for (let i = 0; i < 5; i++) await tick();
      swapping = false;
    };
    try {
      await Promise.all([swapper(), worker(), worker(), worker(), worker(), worker(), worker()]);
      expect(outcomes.ran).toBeGreaterThan(0);
      expect(outcomes.denied).toBeGreaterThan(0);
      expect(ape.policyStatus()).toMatchObject({ swaps: SWAPS, version: `1.${SWAPS}.0`, hash: compilePolicySource(version(SWAPS)).hash });
      const decisions = audit.events.filter((e) => e.type === 'decision');
      expect(decisions.length).toBeGreaterThan(SWAPS);
      const byCall = new Map<string, number>();
      for (const event of decisions) {
        const k = hashes.get(String(event.data?.['policy']));
        expect(k, `decision ${event.call} names no known version`).toBeDefined();
        // The decision is the one its version makes.
        expect(event.data?.['decision']).toBe((k as number) % 2 === 0 ? 'allow' : 'deny');
        if (!String(event.call).includes(':plan:')) byCall.set(String(event.call), k as number);
      }
      const executed = audit.events.filter((e) => e.type === 'execution.completed');
      expect(executed).toHaveLength(outcomes.ran);
      for (const event of executed) expect((byCall.get(String(event.call)) as number) % 2).toBe(0);
      const versionsSeen = new Set(decisions.map((e) => e.data?.['policy']));
      expect(versionsSeen.size).toBeGreaterThan(SWAPS / 2);
      expect(audit.events.filter((e) => e.type === 'policy.swapped')).toHaveLength(SWAPS);
    } finally {
      await ape.close();
    }
  }, 60_000);

  it('liveApe(file, { source }): an edit swaps, a bad edit is refused (audited, typed in policyStatus) and the old policy keeps deciding', async () => {
    const audit = new MemorySink();
    const file = policyFile('watched.yaml', version(0));
    const ape = await liveApe(file, { audit: [audit], source: new FilePolicySource(file, { debounceMs: 20 }) });
    const read = ape.guard<{ path: string }, string>('read_file', (p) => readFile(p.path, 'utf8'));
    try {
      expect(ape.policyStatus()).toMatchObject({ version: '1.0.0', swaps: 0, source: `file:${file}` });
      expect(await read({ path: join(root, 'a.md') })).toBe('A');
      replaceFile(file, version(1));
      await until('the swap', () => ape.policyStatus().swaps === 1 || undefined);
      expect(ape.policy.ir.version).toBe('1.1.0');
      await expect(read({ path: join(root, 'a.md') })).rejects.toBeInstanceOf(PolicyDenyError);
      replaceFile(file, 'name: live_test\nversion: "1.2.0"\nrules: [ {');
      await until('the refusal', () => ape.policyStatus().lastError);
      expect(ape.policyStatus()).toMatchObject({ version: '1.1.0', lastAttempt: { outcome: 'refused' }, lastError: { code: 'APE_POLICY_INVALID' } });
      expect(audit.events.find((e) => e.type === 'policy.refused')?.data).toMatchObject({ code: 'APE_POLICY_INVALID', policy: compilePolicySource(version(1)).hash, source: `file:${file}` });
      await expect(read({ path: join(root, 'a.md') })).rejects.toBeInstanceOf(PolicyDenyError);
      expect(() => watchApe(ape, new FilePolicySource(file))).toThrow(expect.objectContaining({ code: 'APE_AGENT_CONFIG' }));
    } finally {
      await ape.close();
    }
  });

  it('from a signed bundle server: an edit reaches the Ape; a bundle signed by another key is refused', async () => {
    const keys = rsaKeys();
    const file = policyFile('served.yaml', version(0));
    const server = await BundleServer.start({ policies: [file], debounceMs: 20, signing: { key: keys.privateKey, algorithm: 'RS256', keyId: 'ops' } });
    const ape = await liveApe(version(0), {
      source: new UrlPolicySource(`${server.url}/bundles/live_test.tar.gz`, { intervalMs: 600_000, longPollSeconds: 20 }),
      reload: { verification: { ops: { key: keys.publicKey, algorithm: 'RS256' } } },
    });
    try {
      replaceFile(file, version(2));
      await until('the signed swap', () => (ape.policyStatus().version === '1.2.0' ? ape.policyStatus() : undefined), 10_000);
      expect(ape.policyStatus()).toMatchObject({ signedBy: 'ops', swaps: 1 });
    } finally {
      await ape.close();
      await server.close();
    }
    const other = rsaKeys();
    const rogue = await BundleServer.start({ policies: [policyFile('rogue.yaml', version(4))], signing: { key: other.privateKey, algorithm: 'RS256', keyId: 'ops' } });
    const victim = await liveApe(version(0), {
      source: new UrlPolicySource(`${rogue.url}/bundles/live_test.tar.gz`, { intervalMs: 600_000 }),
      reload: { verification: { ops: { key: keys.publicKey, algorithm: 'RS256' } } },
    });
    try {
      await until('the refusal', () => victim.policyStatus().lastError, 10_000);
      expect(victim.policyStatus()).toMatchObject({ version: '1.0.0', swaps: 0, lastError: { code: 'APE_BUNDLE_SIGNATURE' } });
    } finally {
      await victim.close();
      await rogue.close();
    }
  });
});
