/** Authority tokens: HMAC-signed, single-use, expiring, bound to exactly one call of one plan step. */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { RuntimeConfigError, TokenInvalidError } from './errors.js';

/** Everything a token is bound to. */
export interface TokenClaims {
  /** Random token id (the single-use key). */
  id: string;
  tenant: string;
  session: string;
  run: string;
  /** Intent version (hash of the canonical intent). */
  intent: string;
  /** Plan hash. */
  plan: string;
  step: number;
  action: string;
  tool: string;
  /** Hash of the canonical parameters. */
  params: string;
  /** Hash of the policy that decided. */
  policy: string;
  /** Issued at / expires at, epoch milliseconds. */
  iat: number;
  exp: number;
}

const PREFIX = 'ape1';
const ID_PREFIX = randomBytes(12).toString('base64url');
let idCounter = 0;
const CLAIM_KEYS: (keyof TokenClaims)[] = ['id', 'tenant', 'session', 'run', 'intent', 'plan', 'step', 'action', 'tool', 'params', 'policy', 'iat', 'exp'];

/** Signs and verifies tokens with a key the runtime holds. */
export class TokenSigner {
  readonly #key: Buffer;

  /** `key`: at least 32 bytes; a random key when omitted (tokens then die with the process). */
  constructor(key?: Uint8Array | string) {
    const k = key === undefined ? randomBytes(32) : typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
    if (k.length < 32) throw new RuntimeConfigError('the token signing key must be at least 32 bytes');
    this.#key = k;
  }

  /** A fresh, process-unique token id (a random per-process prefix and a counter; the HMAC, not the id, carries authority). */
  static newId(): string {
    return `${ID_PREFIX}${(idCounter++).toString(36)}`;
  }

  /** The signed token text: `ape1.<claims>.<mac>`. */
  sign(claims: TokenClaims): string {
    const body = Buffer.from(JSON.stringify(claims, CLAIM_KEYS)).toString('base64url');
    return `${PREFIX}.${body}.${this.#mac(body).toString('base64url')}`;
  }

  /** The claims of a token this signer issued. Throws `TokenInvalidError` on anything else. */
  verify(token: unknown): TokenClaims {
    if (typeof token !== 'string' || token.length > 4096) throw new TokenInvalidError('malformed');
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== PREFIX) throw new TokenInvalidError('malformed');
    const body = parts[1] as string;
    const given = Buffer.from(parts[2] as string, 'base64url');
    const expected = this.#mac(body);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new TokenInvalidError('signature');
    let claims: unknown;
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      throw new TokenInvalidError('malformed');
    }
    if (!isClaims(claims)) throw new TokenInvalidError('malformed');
    return claims;
  }

  #mac(body: string): Buffer {
    return createHmac('sha256', this.#key).update(body).digest();
  }
}

function isClaims(value: unknown): value is TokenClaims {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  for (const key of CLAIM_KEYS) {
    const numeric = key === 'step' || key === 'iat' || key === 'exp';
    if (numeric ? typeof v[key] !== 'number' : typeof v[key] !== 'string') return false;
  }
  return true;
}
