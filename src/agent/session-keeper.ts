/** The Ape's default session: opened on first use and replaced by a fresh one before it expires, so a long-lived Ape keeps working. */
import type { ApeRuntime, Session } from '../runtime/index.js';

/** Keeps one live session for calls made without an explicit session. */
export class SessionKeeper {
  readonly #runtime: ApeRuntime;
  readonly #tenant: string;
  readonly #ttlMs: number;
  readonly #now: () => number;
  #current: { session: Promise<Session>; renewAt: number; opened?: Session } | undefined;

  constructor(runtime: ApeRuntime, tenant: string, ttlMs: number, now: () => number) {
    this.#runtime = runtime;
    this.#tenant = tenant;
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  /**
   * The live default session. A new one is opened once half the lifetime has passed, so a call
   * (and an approval it waits for) never starts on a session about to expire. A revoked session is
   * not replaced: the calls fail with `SessionExpiredError` until the Ape is rebuilt.
   */
  current(): Promise<Session> {
    const now = this.#now();
    const held = this.#current;
    if (held && now < held.renewAt) return held.session;
    const session = this.#runtime.openSession({ tenant: this.#tenant, ttlMs: this.#ttlMs, metadata: { default_session: true } });
    const entry: { session: Promise<Session>; renewAt: number; opened?: Session } = { session, renewAt: now + Math.floor(this.#ttlMs / 2) };
    this.#current = entry;
    session.then(
      (opened) => {
        entry.opened = opened;
      },
      () => {
        if (this.#current === entry) this.#current = undefined;
      },
    );
    return session;
  }

  /** The live default session when it is open and not due for renewal (what `current()` would resolve to), else undefined. */
  ready(): Session | undefined {
    const held = this.#current;
    return held && this.#now() < held.renewAt ? held.opened : undefined;
  }

  /** Revokes the current default session, if one was opened. */
  async close(): Promise<void> {
    const held = this.#current;
    this.#current = undefined;
    if (!held) return;
    let session: Session;
    try {
      session = await held.session;
    } catch {
      return;
    }
    await this.#runtime.revokeSession(session);
  }
}
