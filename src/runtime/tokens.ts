/** Authority tokens: HMAC-signed, single-use, expiring, bound to exactly one call of one plan step. */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { RuntimeConfigError, TokenInvalidError } from './errors.js';
import { HmacSha256 } from './hmac.js';

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
  /** Correlation id of the call (every audit event of the call carries it). */
  call: string;
}

const PREFIX = 'ape1';
const ID_PREFIX = randomBytes(12).toString('base64url');
let idCounter = 0;
const CLAIM_KEYS: (keyof TokenClaims)[] = ['id', 'tenant', 'session', 'run', 'intent', 'plan', 'step', 'action', 'tool', 'params', 'policy', 'iat', 'exp', 'call'];
/** Longest token text accepted. */
const MAX_TOKEN = 4096;
/** Length of a base64url HMAC-SHA256. */
const MAC_LENGTH = 43;

/** Signs and verifies tokens with a key the runtime holds. */
export class TokenSigner {
  readonly #hmac: HmacSha256;

  /** `key`: at least 32 bytes; a random key when omitted (tokens then die with the process). */
  constructor(key?: Uint8Array | string) {
    const k = key === undefined ? randomBytes(32) : typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
    if (k.length < 32) throw new RuntimeConfigError('the token signing key must be at least 32 bytes');
    this.#hmac = new HmacSha256(k);
  }

  /** A fresh, process-unique token id (a random per-process prefix and a counter; the HMAC, not the id, carries authority). */
  static newId(): string {
    return `${ID_PREFIX}${(idCounter++).toString(36)}`;
  }

  /** The signed token text: `ape1.<claims>.<mac>`: base64url JSON claims, base64url HMAC-SHA256 of the claims text. */
  sign(claims: TokenClaims): string {
    // An object literal in CLAIM_KEYS order (faster than a replacer list; same text).
    const json = JSON.stringify({
      id: claims.id, tenant: claims.tenant, session: claims.session, run: claims.run, intent: claims.intent, plan: claims.plan,
      step: claims.step, action: claims.action, tool: claims.tool, params: claims.params, policy: claims.policy, iat: claims.iat, exp: claims.exp,
      call: claims.call,
    });
    const body = Buffer.from(json, 'utf8').toString('base64url');
    return `${PREFIX}.${body}.${this.#hmac.macText(body)}`;
  }

  /** The claims of a token this signer issued. Throws `TokenInvalidError` on anything else. */
  verify(token: unknown): TokenClaims {
    if (typeof token !== 'string' || token.length > MAX_TOKEN) throw new TokenInvalidError('malformed');
    const first = token.indexOf('.');
    const second = token.indexOf('.', first + 1);
    if (first !== PREFIX.length || !token.startsWith(PREFIX) || second < 0 || token.indexOf('.', second + 1) >= 0) throw new TokenInvalidError('malformed');
    const body = token.slice(first + 1, second);
    const given = token.slice(second + 1);
    // Compare the MAC text in constant time: exactly one encoding of the MAC is accepted.
    const expected = this.#hmac.macText(body);
    const a = Buffer.from(given, 'utf8');
    if (a.length !== MAC_LENGTH || !timingSafeEqual(a, Buffer.from(expected, 'utf8'))) throw new TokenInvalidError('signature');
    let claims: unknown;
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      throw new TokenInvalidError('malformed');
    }
    if (!isClaims(claims)) throw new TokenInvalidError('malformed');
    return claims;
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
