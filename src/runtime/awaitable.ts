/**
 * Sync-first control flow: the runtime's call path is written once as generators that `yield*
 * wait(x)` on store and engine results. `drive` runs a generator synchronously while every yielded
 * value is a plain value (in-memory stores, the native engine) and switches to `await` only when a
 * store or an engine hands back a promise (Redis, WASM engines, async tools).
 */
import type { Awaitable } from './stores/types.js';

/** A generator of the runtime's call path: yields awaitables, is resumed with their values. */
export type Flow<T> = Generator<unknown, T, unknown>;

/** Whether a value is a promise or another thenable. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

/** Waits for an awaitable inside a flow: plain values come straight back, promises are awaited by the driver. */
export function* wait<T>(value: Awaitable<T> | PromiseLike<T>): Flow<T> {
  if (!isThenable(value)) return value;
  return (yield value) as T;
}

/** Runs a flow: synchronously to the end when nothing it waits for is a promise; otherwise a promise of its result. */
export function drive<T>(flow: Flow<T>): Awaitable<T> {
  let input: unknown;
  for (;;) {
    const step = flow.next(input);
    if (step.done) return step.value;
    if (isThenable(step.value)) return resume(flow, step.value);
    input = step.value;
  }
}

async function resume<T>(flow: Flow<T>, pending: PromiseLike<unknown>): Promise<T> {
  let waiting: unknown = pending;
  for (;;) {
    let value: unknown;
    let failed = false;
    try {
      value = await waiting;
    } catch (error) {
      failed = true;
      value = error;
    }
    // A rejection is thrown into the flow at its `yield`, so the flow's own try/catch blocks see it.
    const step = failed ? flow.throw(value) : flow.next(value);
    if (step.done) return step.value;
    waiting = step.value;
  }
}

/** Runs a flow and always answers with a promise (a synchronous throw becomes a rejection). */
export function promised<T>(flow: Flow<T>): Promise<T> {
  try {
    const result = drive(flow);
    return isThenable(result) ? (result as Promise<T>) : Promise.resolve(result);
  } catch (error) {
    return Promise.reject(error);
  }
}
