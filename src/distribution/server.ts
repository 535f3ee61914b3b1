/**
 * A bundle server speaking OPA's bundle service protocol: `GET /bundles/<policy name>.tar.gz` with an ETag, 304 on
 * `If-None-Match`, long polling with `Prefer: wait=<s>`; each policy file is watched and recompiled, a bad edit keeps the last bundle.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { SigningOptions } from '../adapters/opa/index.js';
import { compilePolicySource, readPolicyFile } from '../compiler/index.js';
import { ApeError } from '../errors.js';
import { distributionBundle } from './bundle.js';
import { DistributionOptionError } from './errors.js';
import { FilePolicySource } from './sources/file.js';
import { LONG_POLL_CONTENT_TYPE } from './sources/url.js';

/** The URL path of a policy's bundle. */
export function bundlePath(name: string): string {
  return `/bundles/${name}.tar.gz`;
}

/** One bundle the server holds. */
export interface ServedBundle {
  name: string;
  file: string;
  path: string;
  version: string;
  hash: string;
  etag: string;
  bytes: Buffer;
}

/** What happened to a watched policy file. */
export type BundleServerEvent =
  | { type: 'bundle.built'; name: string; file: string; hash: string; version: string; etag: string }
  | { type: 'bundle.kept'; name: string; file: string; code: string; message: string };

/** Options of the bundle server. */
export interface BundleServerOptions {
  /** Policy files, one bundle each (named by the policy's `name`). */
  policies: readonly string[];
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** Sign every bundle (OPA's `.signatures.json`). */
  signing?: SigningOptions;
  /** Debounce of the file watchers (default 100 ms). */
  debounceMs?: number;
  /** Longest long-poll wait granted (default 300 s). */
  maxWaitSeconds?: number;
  /** Rebuilt and kept bundles. */
  onEvent?: (event: BundleServerEvent) => void;
}

async function build(file: string, source: string, signing: SigningOptions | undefined): Promise<Omit<ServedBundle, 'path'> & { source: string }> {
  const policy = compilePolicySource(source, file);
  const bytes = await distributionBundle(policy, source, signing);
  const etag = `"${createHash('sha256').update(bytes).digest('hex').slice(0, 32)}"`;
  return { name: policy.ir.name, file, version: policy.ir.version, hash: policy.hash, etag, bytes, source };
}

/** Serves the bundles of policy files to OPA (or any bundle client). */
export class BundleServer {
  readonly url: string;
  readonly #server: Server;
  readonly #bundles: Map<string, ServedBundle>;
  readonly #sources: FilePolicySource[] = [];
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #maxWait: number;

  private constructor(server: Server, url: string, bundles: Map<string, ServedBundle>, maxWait: number) {
    this.#server = server;
    this.url = url;
    this.#bundles = bundles;
    this.#maxWait = maxWait;
  }

  /** Compiles every policy (any error throws, typed), starts the watchers and listens. */
  static async start(options: BundleServerOptions): Promise<BundleServer> {
    if (options.policies.length === 0) throw new DistributionOptionError('the bundle server needs at least one policy file');
    const bundles = new Map<string, ServedBundle>();
    const sources = new Map<string, string>();
    for (const file of options.policies) {
      const { source, ...built } = await build(file, readPolicyFile(file), options.signing);
      const existing = bundles.get(built.name);
      if (existing) throw new DistributionOptionError(`policies ${existing.file} and ${file} are both named '${built.name}'`);
      bundles.set(built.name, { ...built, path: bundlePath(built.name) });
      sources.set(built.name, source);
    }
    const maxWait = options.maxWaitSeconds ?? 300;
    const host = options.host ?? '127.0.0.1';
    const holder: { instance?: BundleServer } = {};
    const server = createServer((req, res) => holder.instance?.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => reject(new DistributionOptionError(`cannot listen on ${host}:${options.port ?? 0} (${error.code ?? error.message})`)));
      server.listen(options.port ?? 0, host, () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const self = new BundleServer(server, `http://${host.includes(':') ? `[${host}]` : host}:${port}`, bundles, maxWait);
    holder.instance = self;
    for (const bundle of bundles.values()) self.#watch(bundle, sources.get(bundle.name) ?? '', options);
    return self;
  }

  /** The bundles served now. */
  bundles(): ServedBundle[] {
    return [...this.#bundles.values()];
  }

  /** Stops watching, answers parked long polls with 304 and closes the server. */
  async close(): Promise<void> {
    for (const source of this.#sources) source.stop();
    for (const waiters of this.#waiters.values()) for (const wake of waiters) wake();
    this.#server.closeIdleConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #watch(initial: ServedBundle, text: string, options: BundleServerOptions): void {
    const name = initial.name;
    // Changes are detected against the text the served bundle was built from (an edit racing the start is not missed).
    const source = new FilePolicySource(initial.file, { debounceMs: options.debounceMs ?? 100, knownContent: Buffer.from(text, 'utf8') });
    const kept = (error: unknown) => {
      const failure = error instanceof ApeError ? error : new DistributionOptionError(String(error));
      options.onEvent?.({ type: 'bundle.kept', name, file: initial.file, code: failure.code, message: failure.message });
    };
    let chain = Promise.resolve();
    source.start({
      document: (document) => {
        chain = chain.then(async () => {
          try {
            const { source: _text, ...built } = await build(initial.file, document.bytes.toString('utf8'), options.signing);
            if (built.name !== name) throw new DistributionOptionError(`${initial.file} now names policy '${built.name}'; its bundle stays '${name}' (restart the server to rename)`);
            const current = this.#bundles.get(name);
            if (current?.hash === built.hash) return;
            this.#bundles.set(name, { ...built, path: bundlePath(name) });
            options.onEvent?.({ type: 'bundle.built', name, file: initial.file, hash: built.hash, version: built.version, etag: built.etag });
            const waiters = this.#waiters.get(name);
            if (waiters) for (const wake of [...waiters]) wake();
          } catch (error) {
            kept(error);
          }
        });
      },
      unchanged: () => undefined,
      error: kept,
    });
    void source.check();
    this.#sources.push(source);
  }

  /** Handles one request (exposed for embedding the protocol in another HTTP server). */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = /^\/bundles\/([^/]+)\.tar\.gz$/.exec(url.pathname);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (url.pathname === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    let name: string | undefined;
    try {
      name = match?.[1] === undefined ? undefined : decodeURIComponent(match[1]);
    } catch {
      name = undefined;
    }
    const bundle = name === undefined ? undefined : this.#bundles.get(name);
    if (name === undefined || !bundle) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('no such bundle\n');
      return;
    }
    const prefer = req.headers.prefer;
    const wait = preferWait(Array.isArray(prefer) ? prefer.join(', ') : prefer, this.#maxWait);
    const longPoll = wait !== undefined;
    const tags = (req.headers['if-none-match'] ?? '').split(',').map((t) => t.trim());
    if (!tags.includes(bundle.etag) || !longPoll || wait === 0) {
      this.#answer(req, res, bundle, tags, longPoll);
      return;
    }
    const key = name;
    const waiters = this.#waiters.get(key) ?? new Set<() => void>();
    this.#waiters.set(key, waiters);
    let done = false;
    const wake = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      waiters.delete(wake);
      const latest = this.#bundles.get(key) ?? bundle;
      if (!res.destroyed) this.#answer(req, res, latest, tags, true);
    };
    const timer = setTimeout(wake, wait * 1000);
    waiters.add(wake);
    res.once('close', () => {
      done = true;
      clearTimeout(timer);
      waiters.delete(wake);
    });
  }

  #answer(req: IncomingMessage, res: ServerResponse, bundle: ServedBundle, tags: readonly string[], longPoll: boolean): void {
    const type = longPoll ? LONG_POLL_CONTENT_TYPE : 'application/gzip';
    if (tags.includes(bundle.etag)) {
      res.writeHead(304, { etag: bundle.etag, 'content-type': type, 'cache-control': 'no-cache' }).end();
      return;
    }
    res.writeHead(200, { etag: bundle.etag, 'content-type': type, 'content-length': String(bundle.bytes.length), 'cache-control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : bundle.bytes);
  }
}

/** Parses `Prefer: wait=<seconds>` (RFC 7240); undefined when absent or malformed. */
function preferWait(header: string | undefined, max: number): number | undefined {
  if (header === undefined) return undefined;
  const match = /(?:^|[,;\s])wait=(\d{1,6})(?:$|[,;\s])/i.exec(header);
  if (!match?.[1]) return undefined;
  return Math.min(Number(match[1]), max);
}
