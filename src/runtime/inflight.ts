/** Counts the asynchronous decisions running on each evaluator, so a swapped-out evaluator is closed only once they all ended. */

/** In-flight decisions per evaluator (or any key). */
export class InFlight<K extends object> {
  readonly #counts = new Map<K, number>();
  readonly #waiters = new Map<K, (() => void)[]>();

  /** One more decision runs on `key`. */
  enter(key: K): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  /** A decision on `key` ended. */
  leave(key: K): void {
    const n = (this.#counts.get(key) ?? 1) - 1;
    if (n > 0) {
      this.#counts.set(key, n);
      return;
    }
    this.#counts.delete(key);
    const waiters = this.#waiters.get(key) ?? [];
    this.#waiters.delete(key);
    for (const wake of waiters) wake();
  }

  /** Resolves once no decision runs on `key`. */
  drained(key: K): Promise<void> {
    if (!this.#counts.has(key)) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.#waiters.get(key) ?? [];
      list.push(resolve);
      this.#waiters.set(key, list);
    });
  }
}
