/** Runs the stores' Lua scripts on a Redis client: EVALSHA with an EVAL fallback, a deadline, and one typed error for every failure. */
import { ApeError } from '../../errors.js';
import type { LuaScript } from './redis-scripts.js';

/**
 * The part of a Redis client the stores use. A connected node-redis client (`createClient()` from
 * the `redis` package) fits; anything else with the same two calls does too.
 */
export interface RedisScriptClient {
  /** Whether the connection is up and ready for commands. */
  readonly isReady: boolean;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  evalSha(sha1: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

/**
 * The shared store did not answer (disconnected, timed out, or failed): the runtime refuses the
 * call (fail closed). A timed-out operation may still complete on the server later (a token taken
 * then is simply used up: the call must be authorized again; it never runs twice).
 */
export class StoreUnavailableError extends ApeError {
  /** The store operation, e.g. `tokens.take`. */
  readonly operation: string;
  readonly reason: 'disconnected' | 'timeout' | 'failed';
  override readonly cause: unknown;
  constructor(operation: string, reason: StoreUnavailableError['reason'], cause?: unknown) {
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    super('APE_STORE_UNAVAILABLE', `shared store unavailable for ${operation} (${reason})${detail}`);
    this.operation = operation;
    this.reason = reason;
    this.cause = cause;
  }
}

/** Runs scripts with a deadline; every failure becomes a `StoreUnavailableError`. */
export class ScriptRunner {
  readonly #client: RedisScriptClient;
  readonly #timeoutMs: number;

  constructor(client: RedisScriptClient, timeoutMs: number) {
    this.#client = client;
    this.#timeoutMs = timeoutMs;
  }

  /** Runs one script (one atomic step on the server) and answers its reply. */
  run(operation: string, lua: LuaScript, keys: string[], args: string[]): Promise<unknown> {
    const client = this.#client;
    if (!client.isReady) return Promise.reject(new StoreUnavailableError(operation, 'disconnected'));
    const options = { keys, arguments: args };
    let reply: Promise<unknown>;
    try {
      // After a server restart the script cache is empty: NOSCRIPT, then EVAL (which caches it again).
      reply = client.evalSha(lua.sha, options).catch((error: unknown) => {
        if (error instanceof Error && error.message.startsWith('NOSCRIPT')) return client.eval(lua.text, options);
        throw error;
      });
    } catch (error) {
      return Promise.reject(new StoreUnavailableError(operation, 'failed', error));
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreUnavailableError(operation, 'timeout')), this.#timeoutMs);
    });
    return Promise.race([reply, deadline]).then(
      (value) => {
        clearTimeout(timer);
        return value;
      },
      (error: unknown) => {
        clearTimeout(timer);
        throw error instanceof StoreUnavailableError ? error : new StoreUnavailableError(operation, 'failed', error);
      },
    );
  }
}
