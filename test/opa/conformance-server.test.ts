/**
 * Conformance: real `opa run -s` servers serving the bundles of every suite policy decide exactly
 * like native. Seed and example policies share names (and so bundle roots), so the bundles are
 * spread over as few servers as keep each server's roots distinct.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OpaServerEngine } from '../../src/adapters/opa-server/index.js';
import { policyBundle } from '../../src/adapters/opa/bundle.js';
import { suitePolicies } from '../conformance/cases.js';
import { describeConformance } from '../conformance/run.js';
import { startOpa, tempDir, type RunningOpa } from './helpers.js';

const servers: RunningOpa[] = [];
const serverOf = new Map<string, RunningOpa>();
const temp = tempDir();

describeConformance(
  'opa-server',
  (policy) => {
    const server = serverOf.get(policy.hash);
    if (!server) throw new Error(`no OPA server holds ${policy.ir.name}`);
    return Promise.resolve(new OpaServerEngine(policy, { url: server.url, timeoutMs: 10_000 }));
  },
  {
    async prepare() {
      const waves: { names: Set<string>; args: string[]; hashes: string[] }[] = [];
      for (const [i, { policy }] of suitePolicies().entries()) {
        let wave = waves.find((w) => !w.names.has(policy.ir.name));
        if (!wave) waves.push((wave = { names: new Set(), args: [], hashes: [] }));
        const file = join(temp.dir, `${i}.tar.gz`);
        writeFileSync(file, await policyBundle(policy));
        wave.names.add(policy.ir.name);
        wave.args.push('-b', file);
        wave.hashes.push(policy.hash);
      }
      for (const wave of waves) {
        const server = await startOpa(wave.args);
        servers.push(server);
        for (const hash of wave.hashes) serverOf.set(hash, server);
      }
    },
    async teardown() {
      await Promise.all(servers.map((s) => s.stop()));
      temp.remove();
    },
  },
);
