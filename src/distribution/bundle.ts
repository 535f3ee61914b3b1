/**
 * Distribution bundles: OPA's bundle (manifest, Rego, data.json, optional `.signatures.json`) plus the policy's YAML source at
 * `<root>/policy.ape`, so one artifact feeds both an OPA fleet and a live-reloading APE; and the reader that checks one.
 */
import { gunzipSync } from 'node:zlib';
import { bundleFiles, bundleRoot, readTarGz, signatureFile, writeTarGz, type ArchiveFile, type SigningOptions } from '../adapters/opa/index.js';
import { compilePolicySource, type CompiledPolicy } from '../compiler/index.js';
import { BundleFormatError } from './errors.js';
import type { BundleVerifier } from './signature.js';

/** File name of the policy's YAML source inside its bundle root (OPA ignores it: it is neither Rego nor `data.json`). */
export const POLICY_SOURCE_FILE = 'policy.ape';
/** Largest uncompressed bundle read (bytes). */
export const MAX_BUNDLE_BYTES = 16 * 1024 * 1024;

/** The files of a policy's distribution bundle, unsigned. `source` is the YAML the policy compiled from. */
export function distributionFiles(policy: CompiledPolicy, source: string): ArchiveFile[] {
  return [...bundleFiles(policy), { path: `${bundleRoot(policy)}/${POLICY_SOURCE_FILE}`, content: Buffer.from(source, 'utf8') }];
}

/** The distribution bundle as a tar.gz, signed (OPA's `.signatures.json`) when `signing` is given. */
export async function distributionBundle(policy: CompiledPolicy, source: string, signing?: SigningOptions): Promise<Buffer> {
  const files = distributionFiles(policy, source);
  if (signing) files.unshift(await signatureFile(files, signing));
  return writeTarGz(files);
}

/** What a bundle held: the compiled policy, its source text, and the key id that signed it (when verified). */
export interface OpenedBundle {
  policy: CompiledPolicy;
  source: string;
  signedBy?: string;
}

/** Whether bytes look like a gzip stream (a bundle) rather than YAML text. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

async function unpack(bytes: Buffer): Promise<Map<string, Buffer>> {
  try {
    gunzipSync(bytes, { maxOutputLength: MAX_BUNDLE_BYTES });
  } catch (error) {
    if (error instanceof RangeError) throw new BundleFormatError(`the bundle is larger than ${MAX_BUNDLE_BYTES} bytes uncompressed`);
    throw new BundleFormatError('the bundle is not a gzip stream');
  }
  try {
    return await readTarGz(bytes);
  } catch {
    throw new BundleFormatError('the bundle is not a tar archive');
  }
}

/**
 * Opens a distribution bundle: verifies its signature first when a verifier is given (an unsigned bundle is then refused),
 * compiles the policy source and checks that the manifest's revision is that policy's hash.
 */
export async function openBundle(bytes: Buffer, origin: string, verifier?: BundleVerifier): Promise<OpenedBundle> {
  const files = await unpack(bytes);
  const signedBy = verifier ? await verifier.verify(files) : undefined;
  const manifestBytes = files.get('.manifest');
  if (!manifestBytes) throw new BundleFormatError('the bundle has no .manifest');
  let manifest: { revision?: unknown };
  try {
    manifest = JSON.parse(manifestBytes.toString('utf8')) as { revision?: unknown };
  } catch {
    throw new BundleFormatError('the bundle .manifest is not JSON');
  }
  const sources = [...files.keys()].filter((path) => path.endsWith(`/${POLICY_SOURCE_FILE}`));
  if (sources.length !== 1) throw new BundleFormatError(`the bundle must hold exactly one APE policy source (*/${POLICY_SOURCE_FILE}), found ${sources.length}`);
  const source = (files.get(sources[0] as string) as Buffer).toString('utf8');
  const policy = compilePolicySource(source, origin);
  if (manifest.revision !== policy.hash) {
    throw new BundleFormatError(`the bundle manifest revision ${String(manifest.revision)} is not the hash of its policy (${policy.hash})`);
  }
  if (sources[0] !== `${bundleRoot(policy)}/${POLICY_SOURCE_FILE}`) throw new BundleFormatError(`the policy source ${sources[0] ?? ''} is outside the policy's bundle root`);
  return signedBy === undefined ? { policy, source } : { policy, source, signedBy };
}
