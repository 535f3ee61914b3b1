/**
 * A webhook that only triggers a fetch: `POST` makes the live policy check its configured source. The request body is never read
 * as a policy (it is drained and dropped), so a caller can at most make APE look sooner, never tell it what to load.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { DistributionOptionError } from './errors.js';
import type { PolicyStatus } from './live.js';

/** What a webhook triggers: a live policy's `refresh()`. */
export interface Refreshable {
  refresh(): Promise<PolicyStatus>;
}

/** Options of the webhook. */
export interface WebhookOptions {
  /** When set, requests must carry `Authorization: Bearer <token>`. */
  token?: string;
  /** Largest request body drained (bytes, default 64 KiB); a larger one is refused with 413. */
  maxBodyBytes?: number;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function send(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** A Node request handler: `POST` (any path) triggers `target.refresh()` and answers 202 with the status once the check ran. */
export function webhookHandler(target: Refreshable, options: WebhookOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  if (options.token !== undefined && (typeof options.token !== 'string' || options.token.length < 16)) {
    throw new DistributionOptionError('a webhook token must be a string of at least 16 characters');
  }
  const expected = options.token === undefined ? undefined : digest(`Bearer ${options.token}`);
  const maxBody = options.maxBodyBytes ?? 64 * 1024;
  let running: Promise<PolicyStatus> | undefined;
  return (req, res) => {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      send(res, 405, { error: 'use POST to trigger a policy check' });
      req.resume();
      return;
    }
    if (expected && !timingSafeEqual(digest(req.headers.authorization ?? ''), expected)) {
      send(res, 401, { error: 'missing or wrong bearer token' });
      req.resume();
      return;
    }
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBody && !refused) {
        refused = true;
        send(res, 413, { error: 'request body too large (the webhook ignores bodies)' });
        req.destroy();
      }
    });
    req.on('end', () => {
      if (refused) return;
      // Triggers coalesce: one check at a time; callers during a check share its result.
      running ??= target.refresh().finally(() => (running = undefined));
      running.then(
        (status) => send(res, 202, { status: 'checked', policy: { name: status.name, version: status.version, hash: status.hash }, lastAttempt: status.lastAttempt ?? null }),
        () => send(res, 500, { error: 'the check failed' }),
      );
    });
  };
}

/** Starts a webhook HTTP server on `host:port` (default 127.0.0.1, port 0 = any free port). */
export async function startWebhookServer(target: Refreshable, options: WebhookOptions & { host?: string; port?: number } = {}): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer(webhookHandler(target, options));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}/`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
