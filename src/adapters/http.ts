/** The one HTTP exchange the remote engines (OPA server, XACML PDP) make: URL checks, a POST of JSON bounded by a timeout, failures told apart. */
import { EngineError } from '../errors.js';

/** Why an exchange brought no answer: the timeout ran out, or the server could not be reached (with the cause). */
export class HttpExchangeFailure extends Error {
  readonly timedOut: boolean;
  constructor(timedOut: boolean, detail: string) {
    super(detail);
    this.timedOut = timedOut;
  }
}

/** Parses a server URL given by the caller; anything but http(s) is an `EngineError` of `engine`. */
export function httpUrl(engine: string, what: string, raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new EngineError(engine, `invalid ${what} URL '${raw}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new EngineError(engine, `${what} URL must be http(s): '${raw}'`);
  return url;
}

/** POSTs `body` as JSON with `contentType`; resolves with the status and the text, or rejects with `HttpExchangeFailure`. */
export async function postJson(url: string, body: unknown, contentType: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': contentType, accept: contentType }, body: JSON.stringify(body), signal: controller.signal });
    return { status: response.status, text: await response.text() };
  } catch (error) {
    if (controller.signal.aborted) throw new HttpExchangeFailure(true, 'timeout');
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new HttpExchangeFailure(false, cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error)));
  } finally {
    clearTimeout(timer);
  }
}

/** The start of a body, on one line, for an error message. */
export function bodyExcerpt(text: string): string {
  return text.slice(0, 200).replace(/\s+/g, ' ').trim() || 'empty body';
}
