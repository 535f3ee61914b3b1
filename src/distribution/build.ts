/** `ape bundle build`: writes `<out>/bundles/<policy name>.tar.gz` for each policy, the layout a static web server serves as is. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SigningOptions } from '../adapters/opa/index.js';
import { compilePolicySource, readPolicyFile } from '../compiler/index.js';
import { distributionBundle } from './bundle.js';
import { DistributionOptionError } from './errors.js';
import { bundlePath } from './server.js';

/** One written bundle. */
export interface BuiltBundle {
  name: string;
  file: string;
  hash: string;
  version: string;
  written: string;
}

/** Compiles every policy first (nothing is written when one fails), then writes their bundles under `outDir`. */
export async function buildBundles(policies: readonly string[], outDir: string, signing?: SigningOptions): Promise<BuiltBundle[]> {
  if (policies.length === 0) throw new DistributionOptionError('give at least one policy file');
  const built: { name: string; file: string; hash: string; version: string; bytes: Buffer }[] = [];
  for (const file of policies) {
    const source = readPolicyFile(file);
    const policy = compilePolicySource(source, file);
    const twin = built.find((b) => b.name === policy.ir.name);
    if (twin) throw new DistributionOptionError(`policies ${twin.file} and ${file} are both named '${policy.ir.name}'`);
    built.push({ name: policy.ir.name, file, hash: policy.hash, version: policy.ir.version, bytes: await distributionBundle(policy, source, signing) });
  }
  return built.map(({ bytes, ...bundle }) => {
    const written = join(outDir, bundlePath(bundle.name));
    mkdirSync(join(outDir, 'bundles'), { recursive: true });
    writeFileSync(written, bytes);
    return { ...bundle, written };
  });
}
