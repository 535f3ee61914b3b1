/**
 * Bundle signatures the way OPA verifies them: `.signatures.json` = {"signatures": [JWT]}, the JWT
 * listing every file with its SHA-256 (structured files hashed over OPA's canonical JSON).
 */
import { createHash, createPrivateKey, createSecretKey, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import type { JsonValue } from '../../compiler/ir.js';
import { opaCanonicalJson } from './canonical-json.js';
import { BundleOptionError } from './errors.js';
import type { ArchiveFile } from './tar.js';

/** Signing algorithms a bundle can be signed with. */
export const SIGNING_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512'] as const;
/** A bundle signing algorithm. */
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/** How to sign a bundle. */
export interface SigningOptions {
  /** PEM private key (RS*, PS*, ES*) or the shared secret (HS*). */
  key: string;
  algorithm: SigningAlgorithm;
  /** Key id written as the JWT `kid` header and the `keyid` claim (default `ape`). */
  keyId?: string;
}

/** Parses an algorithm name; throws `BundleOptionError` for an unknown one. */
export function signingAlgorithm(name: string): SigningAlgorithm {
  const upper = name.toUpperCase();
  if ((SIGNING_ALGORITHMS as readonly string[]).includes(upper)) return upper as SigningAlgorithm;
  throw new BundleOptionError(`unknown signing algorithm '${name}'; expected one of ${SIGNING_ALGORITHMS.join(', ')}`);
}

/** The hex SHA-256 OPA expects for a bundle file. */
export function bundleFileHash(file: ArchiveFile): string {
  const structured = /\.(json|ya?ml)$/.test(file.path) || file.path === '.manifest';
  const bytes = structured ? Buffer.from(opaCanonicalJson(JSON.parse(file.content.toString('utf8')) as JsonValue), 'utf8') : file.content;
  return createHash('sha256').update(bytes).digest('hex');
}

function signingKey(options: SigningOptions): KeyObject {
  try {
    if (options.algorithm.startsWith('HS')) return createSecretKey(Buffer.from(options.key, 'utf8'));
    return createPrivateKey(options.key);
  } catch (error) {
    throw new BundleOptionError(`the signing key does not suit ${options.algorithm}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The `.signatures.json` file for these bundle files. */
export async function signatureFile(files: readonly ArchiveFile[], options: SigningOptions): Promise<ArchiveFile> {
  const keyId = options.keyId ?? 'ape';
  const listed = files.map((f) => ({ name: f.path, hash: bundleFileHash(f), algorithm: 'SHA-256' }));
  let jwt: string;
  try {
    jwt = await new SignJWT({ files: listed, keyid: keyId }).setProtectedHeader({ alg: options.algorithm, kid: keyId }).sign(signingKey(options));
  } catch (error) {
    if (error instanceof BundleOptionError) throw error;
    throw new BundleOptionError(`could not sign the bundle with ${options.algorithm}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { path: '.signatures.json', content: Buffer.from(JSON.stringify({ signatures: [jwt] }), 'utf8') };
}
