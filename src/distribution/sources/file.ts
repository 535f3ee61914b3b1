/** A policy file watched for changes: `fs.watch` on its folder (editors replace files), debounced, changes detected by content hash. */
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { MAX_BUNDLE_BYTES } from '../bundle.js';
import { DistributionOptionError, PolicyFetchError } from '../errors.js';
import type { PolicyDocument, PolicySource, SourceListener } from './types.js';

/** Options of a file source. */
export interface FileSourceOptions {
  /** Quiet time after the last file event before the file is read (default 100 ms). */
  debounceMs?: number;
  /** Also re-read the file every so often (ms), for file systems without change events (default 0: off). */
  pollMs?: number;
  /** The content the caller already read: only a different content is delivered. */
  knownContent?: Buffer;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Watches one policy file (YAML or a bundle). */
export class FilePolicySource implements PolicySource {
  readonly description: string;
  readonly path: string;
  readonly #debounceMs: number;
  readonly #pollMs: number;
  #listener: SourceListener | undefined;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #poll: NodeJS.Timeout | undefined;
  #lastHash: string | undefined;
  #lastError: string | undefined;

  constructor(path: string, options: FileSourceOptions = {}) {
    if (typeof path !== 'string' || path === '') throw new DistributionOptionError('a file source needs a path');
    this.path = resolve(path);
    this.description = `file:${this.path}`;
    this.#debounceMs = nonNegative(options.debounceMs ?? 100, 'debounceMs');
    this.#pollMs = nonNegative(options.pollMs ?? 0, 'pollMs');
    if (options.knownContent) this.#lastHash = sha256(options.knownContent);
  }

  async read(): Promise<PolicyDocument> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw new PolicyFetchError(this.description, code === 'ENOENT' ? 'no such file' : `cannot read (${code})`);
    }
    if (bytes.length > MAX_BUNDLE_BYTES) throw new PolicyFetchError(this.description, `larger than ${MAX_BUNDLE_BYTES} bytes`);
    this.#lastHash ??= sha256(bytes);
    return { bytes, origin: this.path };
  }

  start(listener: SourceListener): void {
    if (this.#listener) throw new DistributionOptionError(`${this.description} is already started`);
    this.#listener = listener;
    const name = basename(this.path);
    try {
      this.#watcher = watch(dirname(this.path), { persistent: false }, (_event, file) => {
        if (file === null || file === name) this.#schedule();
      });
      this.#watcher.on('error', () => this.#schedule());
    } catch (error) {
      throw new PolicyFetchError(this.description, `cannot watch (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (this.#pollMs > 0) {
      this.#poll = setInterval(() => void this.check(), this.#pollMs);
      this.#poll.unref();
    }
  }

  async check(): Promise<void> {
    const listener = this.#listener;
    if (!listener) return;
    let document: PolicyDocument;
    try {
      document = await this.read();
    } catch (error) {
      const failure = error as PolicyFetchError;
      // A replaced file is briefly missing: report each distinct failure once.
      if (failure.message !== this.#lastError) listener.error(failure);
      this.#lastError = failure.message;
      return;
    }
    this.#lastError = undefined;
    const hash = sha256(document.bytes);
    if (this.#listener !== listener) return;
    if (hash === this.#lastHash) {
      listener.unchanged();
      return;
    }
    this.#lastHash = hash;
    listener.document(document);
  }

  stop(): void {
    this.#listener = undefined;
    this.#watcher?.close();
    this.#watcher = undefined;
    clearTimeout(this.#timer);
    clearInterval(this.#poll);
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.check(), this.#debounceMs);
    this.#timer.unref();
  }
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) throw new DistributionOptionError(`${name} must be a number >= 0`);
  return value;
}
