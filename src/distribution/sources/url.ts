/**
 * A policy URL polled over HTTP: `If-None-Match` with the last ETag (304 = unchanged), exponential backoff on errors,
 * optional long polling (`Prefer: wait=<s>`, OPA's bundle protocol), a size cap and a timeout on every request.
 */
import { MAX_BUNDLE_BYTES } from '../bundle.js';
import { DistributionOptionError, PolicyFetchError } from '../errors.js';
import type { PolicyDocument, PolicySource, SourceListener } from './types.js';

/** The content type a bundle server answers with when it supports long polling (OPA's protocol). */
export const LONG_POLL_CONTENT_TYPE = 'application/vnd.openpolicyagent.bundles';

/** Options of a URL source. */
export interface UrlSourceOptions {
  /** Delay between polls (default 30 000 ms). */
  intervalMs?: number;
  /** Ask the server to hold a request up to this many seconds until the document changes (default 0: plain polling). */
  longPollSeconds?: number;
  /** Time allowed for one request, on top of the long-poll wait (default 10 000 ms). */
  timeoutMs?: number;
  /** First delay after a failure; doubles per consecutive failure (default 1 000 ms). */
  backoffMinMs?: number;
  /** Longest delay after failures (default 60 000 ms). */
  backoffMaxMs?: number;
  /** Largest body accepted (default 16 MiB). */
  maxBytes?: number;
  /** Extra request headers (e.g. `authorization`). */
  headers?: Readonly<Record<string, string>>;
}

type Outcome = { kind: 'document'; document: PolicyDocument; longPoll: boolean } | { kind: 'unchanged'; longPoll: boolean };

/** Polls one URL for a policy document (YAML or a bundle). */
export class UrlPolicySource implements PolicySource {
  readonly description: string;
  readonly url: string;
  readonly #options: Required<Omit<UrlSourceOptions, 'headers'>> & { headers: Record<string, string> };
  #listener: SourceListener | undefined;
  #etag: string | undefined;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #request: AbortController | undefined;
  #polling: Promise<void> | undefined;
  #again = false;

  constructor(url: string, options: UrlSourceOptions = {}) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new DistributionOptionError(`'${String(url)}' is not a URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new DistributionOptionError(`a policy URL must be http or https, got ${parsed.protocol}`);
    this.url = parsed.href;
    this.description = parsed.href;
    this.#options = {
      intervalMs: positive(options.intervalMs ?? 30_000, 'intervalMs'),
      longPollSeconds: Math.floor(nonNegative(options.longPollSeconds ?? 0, 'longPollSeconds')),
      timeoutMs: positive(options.timeoutMs ?? 10_000, 'timeoutMs'),
      backoffMinMs: positive(options.backoffMinMs ?? 1_000, 'backoffMinMs'),
      backoffMaxMs: positive(options.backoffMaxMs ?? 60_000, 'backoffMaxMs'),
      maxBytes: positive(options.maxBytes ?? MAX_BUNDLE_BYTES, 'maxBytes'),
      headers: { ...(options.headers ?? {}) },
    };
  }

  /** The delay before the next poll after `failures` consecutive failures (0: the normal interval). */
  backoffDelay(failures: number): number {
    if (failures <= 0) return this.#options.intervalMs;
    return Math.min(this.#options.backoffMaxMs, this.#options.backoffMinMs * 2 ** Math.min(failures - 1, 30));
  }

  async read(): Promise<PolicyDocument> {
    const outcome = await this.#fetch(false, new AbortController());
    if (outcome.kind !== 'document') throw new PolicyFetchError(this.description, 'the server answered 304 to an unconditional request');
    return outcome.document;
  }

  start(listener: SourceListener): void {
    if (this.#listener) throw new DistributionOptionError(`${this.description} is already started`);
    this.#listener = listener;
    this.#schedule(this.#etag && this.#options.longPollSeconds > 0 ? 0 : this.#options.intervalMs);
  }

  check(): Promise<void> {
    if (!this.#listener) return Promise.resolve();
    if (this.#polling) {
      // A poll is running (perhaps a long poll held by the server): end it and poll again at once.
      this.#again = true;
      this.#request?.abort();
      return this.#polling;
    }
    clearTimeout(this.#timer);
    return this.#poll(true);
  }

  stop(): void {
    this.#listener = undefined;
    clearTimeout(this.#timer);
    this.#request?.abort();
  }

  #schedule(delay: number): void {
    clearTimeout(this.#timer);
    if (!this.#listener) return;
    this.#timer = setTimeout(() => void this.#poll(false), delay);
    this.#timer.unref();
  }

  #poll(forced: boolean): Promise<void> {
    const run = async (): Promise<void> => {
      let longPoll = false;
      let plain = forced;
      do {
        plain ||= this.#again;
        this.#again = false;
        const listener = this.#listener;
        if (!listener) return;
        const controller = new AbortController();
        this.#request = controller;
        try {
          const started = Date.now();
          const outcome = await this.#fetch(!plain && this.#options.longPollSeconds > 0, controller);
          this.#failures = 0;
          // Poll again at once only after a long poll the server really held (or that brought news): never spin.
          longPoll = outcome.longPoll && (outcome.kind === 'document' || Date.now() - started >= 1000);
          if (this.#listener === listener) {
            if (outcome.kind === 'document') listener.document(outcome.document);
            else listener.unchanged();
          }
        } catch (error) {
          if (this.#again || !this.#listener) continue;
          this.#failures += 1;
          longPoll = false;
          listener.error(error instanceof PolicyFetchError ? error : new PolicyFetchError(this.description, String(error)));
        } finally {
          this.#request = undefined;
        }
      } while (this.#again && this.#listener);
      this.#polling = undefined;
      // After a forced check, long polling resumes at once (a server without long polling is then asked once more, then polled).
      const resume = longPoll || (plain && this.#options.longPollSeconds > 0);
      this.#schedule(this.#failures > 0 ? this.backoffDelay(this.#failures) : resume ? 0 : this.#options.intervalMs);
    };
    this.#polling = run().finally(() => (this.#polling = undefined));
    return this.#polling;
  }

  async #fetch(longPoll: boolean, controller: AbortController): Promise<Outcome> {
    const wait = longPoll && this.#etag ? this.#options.longPollSeconds : 0;
    const headers: Record<string, string> = { ...this.#options.headers, accept: 'application/gzip, application/yaml, text/yaml, */*' };
    if (this.#etag) headers['if-none-match'] = this.#etag;
    if (wait > 0) headers['prefer'] = `wait=${wait}`;
    const timeoutMs = this.#options.timeoutMs + wait * 1000;
    const timer = setTimeout(() => controller.abort(new Error('timeout')), timeoutMs);
    try {
      let response: Response;
      try {
        response = await fetch(this.url, { headers, redirect: 'error', signal: controller.signal });
      } catch (error) {
        throw this.#failure(error, controller, timeoutMs);
      }
      const held = wait > 0 && (response.headers.get('content-type') ?? '').startsWith(LONG_POLL_CONTENT_TYPE);
      if (response.status === 304 && this.#etag) {
        await response.body?.cancel();
        return { kind: 'unchanged', longPoll: held };
      }
      if (response.status !== 200) {
        await response.body?.cancel();
        throw new PolicyFetchError(this.description, `HTTP ${response.status}`);
      }
      let bytes: Buffer;
      try {
        bytes = await readCapped(response, this.#options.maxBytes);
      } catch (error) {
        if (error instanceof PolicyFetchError) throw error;
        throw this.#failure(error, controller, timeoutMs);
      }
      const etag = response.headers.get('etag');
      this.#etag = etag ?? undefined;
      return { kind: 'document', document: { bytes, origin: this.url }, longPoll: held };
    } finally {
      clearTimeout(timer);
    }
  }

  #failure(error: unknown, controller: AbortController, timeoutMs: number): PolicyFetchError {
    if (error instanceof PolicyFetchError) return error;
    if (controller.signal.aborted) {
      const reason: unknown = controller.signal.reason;
      return new PolicyFetchError(this.description, reason instanceof Error && reason.message === 'timeout' ? `no answer within ${timeoutMs} ms` : 'request aborted');
    }
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return new PolicyFetchError(this.description, cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error)));
  }
}

async function readCapped(response: Response, maxBytes: number): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > maxBytes) throw new PolicyFetchError(response.url, `body of ${declared} bytes exceeds ${maxBytes}`);
  const chunks: Buffer[] = [];
  let size = 0;
  if (!response.body) return Buffer.alloc(0);
  for await (const chunk of response.body) {
    size += chunk.length;
    if (size > maxBytes) {
      await response.body.cancel().catch(() => undefined);
      throw new PolicyFetchError(response.url, `body exceeds ${maxBytes} bytes`);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new DistributionOptionError(`${name} must be a number > 0`);
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) throw new DistributionOptionError(`${name} must be a number >= 0`);
  return value;
}
