/**
 * In-process authority: a capability is an opaque frozen object the runtime mints for one exact
 * call. Only objects minted here are known (a WeakMap the runtime holds), so it cannot be forged,
 * copied or edited; it is used once; the signed token text is made only when a caller asks for it.
 */
import type { TokenClaims } from './tokens.js';

/** What a capability grants: the claims it stands for and the exact call object it was minted with. */
export interface Grant {
  readonly claims: Readonly<TokenClaims>;
  /** The frozen call the runtime built (identity proves the parameters unchanged). */
  readonly call: object;
  /** Whether the grant is also in the token store (then taking it there is the single use). */
  readonly stored: boolean;
  used: boolean;
}

/** An unforgeable, single-use, in-process authority for one call. Pass it to `Run.execute` like a token. */
export class Capability {
  /** The token id (the same id the signed form carries). */
  readonly id: string;
  /** The grant, in a private field: unreadable from outside, absent from look-alike objects. */
  readonly #grant: Grant;
  private constructor(grant: Grant) {
    this.id = grant.claims.id;
    this.#grant = grant;
    Object.freeze(this);
  }

  /** @internal Mints a capability for a grant (runtime only). */
  static mint(grant: Grant): Capability {
    return new Capability(grant);
  }

  /** @internal The grant of a capability the runtime minted (a private-field check: no getter or proxy trap runs). */
  static grantOf(value: unknown): Grant | undefined {
    return typeof value === 'object' && value !== null && #grant in value ? (value as Capability).#grant : undefined;
  }

  /** The text form is never the authority: a capability does not serialize. */
  toJSON(): string {
    return `[capability ${this.id}]`;
  }
}

/** The grant of a capability the runtime minted, or undefined for anything else. */
export function grantOf(value: unknown): Grant | undefined {
  return Capability.grantOf(value);
}
