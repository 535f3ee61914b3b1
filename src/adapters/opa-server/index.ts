/** Engine `opa-server`: asks a running OPA for `POST /v1/data/ape/<policy>/facts_decision` (the engine-input form), failing closed on any trouble. */
import type { CompiledPolicy } from '../../compiler/compile.js';
import type { DecisionResult, EngineInput } from '../../compiler/ir.js';
import { factsDecisionPath } from '../../compiler/rego/index.js';
import { EngineError } from '../../errors.js';
import type { DecisionEngine } from '../engine.js';
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

function causeText(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

/** Delegates decisions of one policy to an OPA server's Data API. */
export class OpaServerEngine implements DecisionEngine {
  readonly name = NAME;
  readonly #url: string;
  readonly #timeoutMs: number;
  readonly #hash: string;
  readonly #path: string;

  constructor(policy: CompiledPolicy, options: OpaServerOptions) {
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new EngineError(NAME, `invalid OPA URL '${options.url}'`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new EngineError(NAME, `OPA URL must be http(s): '${options.url}'`);
    this.#path = factsDecisionPath(policy.ir.name);
    this.#url = `${base.origin}${base.pathname.replace(/\/+$/, '')}/v1/data/${this.#path}`;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_OPA_TIMEOUT_MS;
    this.#hash = policy.hash;
  }

  async decide(input: EngineInput): Promise<DecisionResult> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.#timeoutMs);
    let status: number;
    let text: string;
    try {
      const response = await fetch(this.#url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ input }),
        signal: controller.signal,
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      if (controller.signal.aborted) throw new OpaServerTimeoutError(this.#url, this.#timeoutMs);
      throw new OpaServerUnreachableError(this.#url, causeText(error));
    } finally {
      clearTimeout(timer);
    }
    if (status !== 200) throw new OpaServerResponseError(this.#url, status, text.slice(0, 200).replace(/\s+/g, ' ').trim() || 'empty body');
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
