/** Verifies a bundle's `.signatures.json` the way OPA does, with `jose`: pinned key ids and algorithms, every file listed with its SHA-256. */
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { compactVerify, decodeProtectedHeader } from 'jose';
import { bundleFileHash, signingAlgorithm, type SigningAlgorithm } from '../adapters/opa/index.js';
import { BundleSignatureError, DistributionOptionError } from './errors.js';

/** The name of the signature file inside a bundle. */
export const SIGNATURES_FILE = '.signatures.json';

/** One pinned verification key: a PEM public key (RS*, PS*, ES*) or the shared secret (HS*), and the one algorithm it may sign with. */
export interface VerificationKey {
  key: string;
  algorithm: SigningAlgorithm;
}

/** Pinned verification keys by key id (`kid`): a signature by any other key id or algorithm is refused. */
export type VerificationKeys = Readonly<Record<string, VerificationKey>>;

/** Verification keys prepared once: key objects per key id. */
export class BundleVerifier {
  readonly #keys: Map<string, { key: KeyObject; algorithm: SigningAlgorithm }>;

  constructor(keys: VerificationKeys) {
    this.#keys = new Map();
    for (const [kid, entry] of Object.entries(keys)) {
      if (kid === '') throw new DistributionOptionError('a verification key id is empty');
      const algorithm = signingAlgorithm(String(entry.algorithm));
      let key: KeyObject;
      try {
        key = algorithm.startsWith('HS') ? createSecretKey(Buffer.from(entry.key, 'utf8')) : createPublicKey(entry.key);
      } catch (error) {
        throw new DistributionOptionError(`verification key '${kid}' does not suit ${algorithm}: ${error instanceof Error ? error.message : String(error)}`);
      }
      this.#keys.set(kid, { key, algorithm });
    }
    if (this.#keys.size === 0) throw new DistributionOptionError('bundle verification needs at least one key');
  }

  /** Checks the signature over `files` (the bundle's files by path, including `.signatures.json`); returns the key id that signed. */
  async verify(files: ReadonlyMap<string, Buffer>): Promise<string> {
    const raw = files.get(SIGNATURES_FILE);
    if (!raw) throw new BundleSignatureError('the bundle is not signed (no .signatures.json)');
    const jwt = parseSignatures(raw);
    let header: { kid?: unknown; alg?: unknown };
    try {
      header = decodeProtectedHeader(jwt);
    } catch {
      throw new BundleSignatureError('the bundle signature is not a JWS');
    }
    const kid = typeof header.kid === 'string' ? header.kid : undefined;
    if (kid === undefined) throw new BundleSignatureError('the bundle signature names no key id (kid)');
    const pinned = this.#keys.get(kid);
    if (!pinned) throw new BundleSignatureError(`the bundle is signed by key '${kid}', which is not a pinned verification key`);
    if (header.alg !== pinned.algorithm) throw new BundleSignatureError(`key '${kid}' is pinned to ${pinned.algorithm}; the bundle is signed with ${String(header.alg)}`);
    let payload: Uint8Array;
    try {
      payload = (await compactVerify(jwt, pinned.key, { algorithms: [pinned.algorithm] })).payload;
    } catch {
      throw new BundleSignatureError(`the bundle signature does not verify with key '${kid}'`);
    }
    checkFiles(parsePayload(payload, kid), files);
    return kid;
  }
}

function parseSignatures(raw: Buffer): string {
  let doc: unknown;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new BundleSignatureError('.signatures.json is not JSON');
  }
  const signatures = (doc as { signatures?: unknown } | null)?.signatures;
  if (!Array.isArray(signatures) || signatures.length !== 1 || typeof signatures[0] !== 'string') {
    throw new BundleSignatureError('.signatures.json must hold exactly one signature');
  }
  return signatures[0];
}

interface SignedFile {
  name: string;
  hash: string;
}

function parsePayload(payload: Uint8Array, kid: string): SignedFile[] {
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    throw new BundleSignatureError('the bundle signature payload is not JSON');
  }
  const { files, keyid } = (claims ?? {}) as { files?: unknown; keyid?: unknown };
  if (keyid !== undefined && keyid !== kid) throw new BundleSignatureError(`the signature's keyid claim '${String(keyid)}' differs from its kid '${kid}'`);
  if (!Array.isArray(files)) throw new BundleSignatureError('the bundle signature lists no files');
  return files.map((entry: unknown) => {
    const { name, hash, algorithm } = (entry ?? {}) as { name?: unknown; hash?: unknown; algorithm?: unknown };
    if (typeof name !== 'string' || typeof hash !== 'string') throw new BundleSignatureError('a signed file entry has no name or hash');
    if (algorithm !== 'SHA-256') throw new BundleSignatureError(`signed file ${name}: unsupported hash algorithm ${String(algorithm)}`);
    return { name: name.replace(/^\/+/, ''), hash: hash.toLowerCase() };
  });
}

function checkFiles(signed: readonly SignedFile[], files: ReadonlyMap<string, Buffer>): void {
  const listed = new Map<string, string>();
  for (const entry of signed) {
    if (listed.has(entry.name)) throw new BundleSignatureError(`signed file ${entry.name} is listed twice`);
    listed.set(entry.name, entry.hash);
  }
  for (const [path, content] of files) {
    if (path === SIGNATURES_FILE) continue;
    const expected = listed.get(path);
    if (expected === undefined) throw new BundleSignatureError(`file ${path} is not covered by the bundle signature`);
    let actual: string;
    try {
      actual = bundleFileHash({ path, content });
    } catch {
      throw new BundleSignatureError(`file ${path} is not valid JSON`);
    }
    if (actual !== expected) throw new BundleSignatureError(`file ${path} does not match its signed hash`);
    listed.delete(path);
  }
  const missing = [...listed.keys()];
  if (missing.length > 0) throw new BundleSignatureError(`signed file ${missing[0] ?? ''} is missing from the bundle`);
}
