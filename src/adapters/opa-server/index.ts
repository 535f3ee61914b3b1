/** Engine `opa-server`: asks a running OPA for `POST /v1/data/ape/<policy>/facts_decision` (the engine-input form), failing closed on any trouble. */
import type { CompiledPolicy } from '../../compiler/compile.js';
import type { DecisionResult, EngineInput } from '../../compiler/ir.js';
import { factsDecisionPath } from '../../compiler/rego/index.js';
import { EngineError } from '../../errors.js';
import type { DecisionEngine } from '../engine.js';
import { HttpExchangeFailure, bodyExcerpt, httpUrl, postJson } from '../http.js';
import { OpaUndefinedDecisionError, toDecisionResult } from '../opa/decision.js';

const NAME = 'opa-server';
/** Milliseconds before a request to OPA is abandoned (and the decision fails closed). */
export const DEFAULT_OPA_TIMEOUT_MS = 2000;

/** OPA could not be reached (connection refused, DNS, reset). */
export class OpaServerUnreachableError extends EngineError {
  readonly url: string;
  constructor(url: string, detail: string) {
    super(NAME, `cannot reach OPA at ${url}: ${detail}`);
    this.url = url;
  }
}

/** OPA did not answer within the timeout. */
export class OpaServerTimeoutError extends EngineError {
  readonly timeoutMs: number;
  constructor(url: string, timeoutMs: number) {
    super(NAME, `OPA at ${url} did not answer within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** OPA answered with a status other than 200, or a body that is not JSON. */
export class OpaServerResponseError extends EngineError {
  readonly status: number;
  constructor(url: string, status: number, detail: string) {
    super(NAME, `OPA at ${url} answered ${status}: ${detail}`);
    this.status = status;
  }
}

/** Options of the `opa-server` engine. */
export interface OpaServerOptions {
  /** Base URL of the OPA server, e.g. `http://127.0.0.1:8181`. */
  url: string;
  timeoutMs?: number;
}

/** Delegates decisions of one policy to an OPA server's Data API. */
export class OpaServerEngine implements DecisionEngine {
  readonly name = NAME;
  readonly #url: string;
  readonly #timeoutMs: number;
  readonly #hash: string;
  readonly #path: string;

  constructor(policy: CompiledPolicy, options: OpaServerOptions) {
    const base = httpUrl(NAME, 'OPA', options.url);
    this.#path = factsDecisionPath(policy.ir.name);
    this.#url = `${base.origin}${base.pathname.replace(/\/+$/, '')}/v1/data/${this.#path}`;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_OPA_TIMEOUT_MS;
    this.#hash = policy.hash;
  }

  async decide(input: EngineInput): Promise<DecisionResult> {
    let status: number;
    let text: string;
    try {
      ({ status, text } = await postJson(this.#url, { input }, 'application/json', this.#timeoutMs));
    } catch (error) {
      if (!(error instanceof HttpExchangeFailure)) throw error;
      if (error.timedOut) throw new OpaServerTimeoutError(this.#url, this.#timeoutMs);
      throw new OpaServerUnreachableError(this.#url, error.message);
    }
    if (status !== 200) throw new OpaServerResponseError(this.#url, status, bodyExcerpt(text));
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new OpaServerResponseError(this.#url, status, 'the body is not JSON');
    }
    const result = body !== null && typeof body === 'object' ? (body as { result?: unknown }).result : undefined;
    if (result === undefined) throw new OpaUndefinedDecisionError(NAME, this.#path);
    return toDecisionResult(NAME, result, this.#hash);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The `opa-server` engine; `opaUrl` is required. */
export function createOpaServerEngine(policy: CompiledPolicy, options: { opaUrl?: string; timeoutMs?: number }): Promise<OpaServerEngine> {
  if (!options.opaUrl) return Promise.reject(new EngineError(NAME, 'no OPA URL: pass --opa-url http://127.0.0.1:8181'));
  const serverOptions: OpaServerOptions = { url: options.opaUrl };
  if (options.timeoutMs !== undefined) serverOptions.timeoutMs = options.timeoutMs;
  return Promise.resolve(new OpaServerEngine(policy, serverOptions));
}
