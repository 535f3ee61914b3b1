/** A one-shot cancellation for a call in flight: cheaper than an AbortController on the per-call path. */

/** Cancelled at most once (by the client's notifications/cancelled or the session's end); listeners run then. */
export class Cancellation {
  #cancelled = false;
  #reason: unknown;
  #listeners: Array<(reason: unknown) => void> | undefined;

  /** Whether it was cancelled. */
  get cancelled(): boolean {
    return this.#cancelled;
  }

  /** Why it was cancelled (as the canceller said). */
  get reason(): unknown {
    return this.#reason;
  }

  /** Cancels (once) and runs the listeners. */
  cancel(reason: unknown): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#reason = reason;
    const listeners = this.#listeners ?? [];
    this.#listeners = undefined;
    for (const listener of listeners) listener(reason);
  }

  /** Runs `listener` on cancellation; returns the function that removes it. */
  onCancel(listener: (reason: unknown) => void): () => void {
    (this.#listeners ??= []).push(listener);
    return () => {
      const at = this.#listeners?.indexOf(listener) ?? -1;
      if (at >= 0) this.#listeners?.splice(at, 1);
    };
  }
}
