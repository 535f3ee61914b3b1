/** OPA bundles of a compiled policy, written in TypeScript: `.manifest`, the Rego, `data.json`, and optionally `.signatures.json`. */
import type { CompiledPolicy } from '../../compiler/compile.js';
import { emitRego, packageSegments } from '../../compiler/rego/index.js';
import { opaCanonicalJson } from './canonical-json.js';
import { signatureFile, type SigningOptions } from './signing.js';
import { writeTarGz, type ArchiveFile } from './tar.js';

/** Options of a policy bundle. */
export interface BundleOptions {
  signing?: SigningOptions;
}

/** The bundle root of a policy (`ape/<name>`): the only path of `data` the bundle owns. */
export function bundleRoot(policy: CompiledPolicy): string {
  return packageSegments(policy.ir.name).join('/');
}

/** The files of a policy's bundle, unsigned, in archive order. */
export function bundleFiles(policy: CompiledPolicy): ArchiveFile[] {
  const root = bundleRoot(policy);
  const [, name] = packageSegments(policy.ir.name);
  const manifest = {
    revision: policy.hash,
    roots: [root],
    rego_version: 1,
    metadata: { ape: { policy: policy.ir.name, version: policy.ir.version, policy_hash: policy.hash } },
  };
  const data = { ape: { [name]: { meta: { policy: policy.ir.name, version: policy.ir.version, policy_hash: policy.hash } } } };
  return [
    { path: '.manifest', content: Buffer.from(opaCanonicalJson(manifest), 'utf8') },
    { path: `${root}/policy.rego`, content: Buffer.from(emitRego(policy), 'utf8') },
    { path: 'data.json', content: Buffer.from(opaCanonicalJson(data), 'utf8') },
  ];
}

/** The bundle as a tar.gz, signed when `options.signing` is given. */
export async function policyBundle(policy: CompiledPolicy, options: BundleOptions = {}): Promise<Buffer> {
  const files = bundleFiles(policy);
  if (options.signing) files.unshift(await signatureFile(files, options.signing));
  return writeTarGz(files);
}
