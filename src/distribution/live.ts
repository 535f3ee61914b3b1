/**
 * A live policy: the current compiled policy of a `PolicySource`, replaced only by a newer document that decodes, verifies and
 * compiles; every refusal (fetch, compile, signature, rollback, swap) keeps the current policy and is reported by an event.
 */
import { createHash } from 'node:crypto';
import { compilePolicySource, type CompiledPolicy } from '../compiler/index.js';
import { ApeError } from '../errors.js';
import { isGzip, openBundle } from './bundle.js';
import { BundleFormatError, BundleSignatureError, DistributionOptionError, PolicyRollbackError, PolicySwapError } from './errors.js';
import { compareVersions } from './revision.js';
import { BundleVerifier, type VerificationKeys } from './signature.js';
import type { PolicyDocument, PolicySource } from './sources/types.js';

/** How fetched bytes are read: YAML text, a bundle, or either (gzip magic decides). With verification keys only signed bundles pass. */
export type PolicyFormat = 'auto' | 'yaml' | 'bundle';

/** Options of a live policy. */
export interface LivePolicyOptions {
  format?: PolicyFormat;
  /** Pinned verification keys: when set, a document must be a bundle signed by one of them (key id and algorithm). */
  verification?: VerificationKeys;
  /** Accept a policy whose version is lower than the current one, or a revision already replaced (default false). */
  allowRollback?: boolean;
  /** Clock (epoch ms) for status and events. */
  now?: () => number;
}

/** What one reload attempt did. */
export type ReloadOutcome = 'swapped' | 'unchanged' | 'refused';

/** An event of a live policy: a swap, or a refused document (the current policy stayed). */
export type PolicyReloadEvent =
  | { type: 'policy.swapped'; ts: number; source: string; previousHash: string; previousVersion: string; hash: string; version: string; signedBy?: string }
  | { type: 'policy.refused'; ts: number; source: string; code: string; message: string; currentHash: string; offeredHash?: string };

/** `policyStatus()`: the current policy and the last reload attempt. */
export interface PolicyStatus {
  name: string;
  version: string;
  hash: string;
  /** The source's description (`file:<path>` or the URL). */
  source: string;
  /** When the current policy was installed (epoch ms). */
  loadedAt: number;
  /** Swaps since the live policy opened. */
  swaps: number;
  /** Key id that signed the current policy's bundle, when verified. */
  signedBy?: string;
  lastAttempt?: { at: number; outcome: ReloadOutcome };
  /** The last refusal (kept after later successes; compare `at` with `lastAttempt.at`). */
  lastError?: { at: number; code: string; message: string };
}

/** Installs a new policy; throwing refuses it (the live policy keeps the current one). */
export type SwapTarget = (next: CompiledPolicy, previous: CompiledPolicy) => void | Promise<void>;

interface Decoded {
  policy: CompiledPolicy;
  signedBy?: string;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The current policy of a source, reloaded safely. */
export class LivePolicy {
  readonly source: PolicySource;
  readonly #format: PolicyFormat;
  readonly #verifier: BundleVerifier | undefined;
  readonly #allowRollback: boolean;
  readonly #now: () => number;
  readonly #listeners = new Set<(event: PolicyReloadEvent) => void>();
  readonly #replaced = new Set<string>();
  #target: SwapTarget | undefined;
  #policy: CompiledPolicy;
  #signedBy: string | undefined;
  #loadedAt: number;
  #swaps = 0;
  #lastDigest: string | undefined;
  #lastAttempt: PolicyStatus['lastAttempt'];
  #lastError: PolicyStatus['lastError'];
  #queue: Promise<unknown> = Promise.resolve();
  #started = false;

  private constructor(source: PolicySource, initial: Decoded, options: LivePolicyOptions, verifier: BundleVerifier | undefined) {
    this.source = source;
    this.#format = options.format ?? 'auto';
    this.#verifier = verifier;
    this.#allowRollback = options.allowRollback ?? false;
    this.#now = options.now ?? Date.now;
    this.#policy = initial.policy;
    this.#signedBy = initial.signedBy;
    this.#loadedAt = this.#now();
  }

  /** Reads the source once (it must deliver a valid policy: errors throw, typed) and returns the live policy, not yet watching. */
  static async open(source: PolicySource, options: LivePolicyOptions = {}): Promise<LivePolicy> {
    const verifier = makeVerifier(options);
    const document = await source.read();
    const initial = await decode(document, options.format ?? 'auto', verifier);
    const live = new LivePolicy(source, initial, options, verifier);
    live.#lastDigest = sha256(document.bytes);
    return live;
  }

  /** A live policy starting from an already compiled policy; the source is only watched (`start()` checks it once). */
  static watch(initial: CompiledPolicy, source: PolicySource, options: LivePolicyOptions = {}): LivePolicy {
    return new LivePolicy(source, { policy: initial }, options, makeVerifier(options));
  }

  /** The current policy. */
  get policy(): CompiledPolicy {
    return this.#policy;
  }

  /** Sets what installs a new policy (e.g. the runtime's swap). One target per live policy. */
  bind(target: SwapTarget): void {
    if (this.#target) throw new DistributionOptionError('this live policy is already bound to a swap target');
    this.#target = target;
  }

  /** Subscribes to swap and refusal events; returns the unsubscribe function. */
  on(listener: (event: PolicyReloadEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts watching the source. */
  start(): this {
    if (this.#started) return this;
    this.#started = true;
    this.source.start({
      document: (document) => void this.offer(document),
      unchanged: () => void this.#enqueue(async () => this.#attempt('unchanged')),
      error: (error) => void this.#enqueue(async () => this.#refuse(error)),
    });
    // Catch up with a change made between the first read (or the given policy) and the watch.
    void this.source.check();
    return this;
  }

  /** Checks the source now (what a webhook triggers) and resolves with the status once the result is applied. */
  async refresh(): Promise<PolicyStatus> {
    if (this.#started) {
      await this.source.check();
    } else {
      try {
        await this.offer(await this.source.read());
      } catch (error) {
        await this.#enqueue(async () => this.#refuse(error));
      }
    }
    await this.#queue;
    return this.status();
  }

  /** Offers one document: decoded, verified, compiled, checked against rollback, then swapped in; in order with other offers. */
  offer(document: PolicyDocument): Promise<ReloadOutcome> {
    return this.#enqueue(() => this.#apply(document));
  }

  /** The current policy's identity and the last attempt. */
  status(): PolicyStatus {
    const status: PolicyStatus = {
      name: this.#policy.ir.name,
      version: this.#policy.ir.version,
      hash: this.#policy.hash,
      source: this.source.description,
      loadedAt: this.#loadedAt,
      swaps: this.#swaps,
    };
    if (this.#signedBy !== undefined) status.signedBy = this.#signedBy;
    if (this.#lastAttempt) status.lastAttempt = { ...this.#lastAttempt };
    if (this.#lastError) status.lastError = { ...this.#lastError };
    return status;
  }

  /** Stops watching (pending offers still finish). */
  async close(): Promise<void> {
    this.source.stop();
    this.#started = false;
    await this.#queue;
  }

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #apply(document: PolicyDocument): Promise<ReloadOutcome> {
    const digest = sha256(document.bytes);
    if (digest === this.#lastDigest) return this.#attempt('unchanged');
    let decoded: Decoded;
    try {
      decoded = await decode(document, this.#format, this.#verifier);
    } catch (error) {
      return this.#refuse(error);
    }
    const next = decoded.policy;
    const current = this.#policy;
    if (next.hash === current.hash) {
      this.#lastDigest = digest;
      return this.#attempt('unchanged');
    }
    try {
      this.#checkSuccession(next, current);
      if (this.#target) await this.#target(next, current);
    } catch (error) {
      return this.#refuse(error, next.hash);
    }
    this.#replaced.add(current.hash);
    this.#policy = next;
    this.#signedBy = decoded.signedBy;
    this.#loadedAt = this.#now();
    this.#lastDigest = digest;
    this.#swaps += 1;
    const event: PolicyReloadEvent = {
      type: 'policy.swapped',
      ts: this.#loadedAt,
      source: this.source.description,
      previousHash: current.hash,
      previousVersion: current.ir.version,
      hash: next.hash,
      version: next.ir.version,
    };
    if (decoded.signedBy !== undefined) event.signedBy = decoded.signedBy;
    this.#emit(event);
    return this.#attempt('swapped');
  }

  #checkSuccession(next: CompiledPolicy, current: CompiledPolicy): void {
    if (next.ir.name !== current.ir.name) throw new PolicySwapError(`the live policy is '${current.ir.name}'; the source now offers '${next.ir.name}'`);
    if (this.#allowRollback) return;
    const order = compareVersions(next.ir.version, current.ir.version);
    if (order < 0) throw new PolicyRollbackError(current.ir.version, next.ir.version, next.hash, 'the offered version is lower');
    if (order === 0 && this.#replaced.has(next.hash)) throw new PolicyRollbackError(current.ir.version, next.ir.version, next.hash, 'this revision was already replaced');
  }

  #refuse(error: unknown, offeredHash?: string): ReloadOutcome {
    const failure = error instanceof ApeError ? error : new PolicySwapError(error instanceof Error ? error.message : String(error));
    const at = this.#now();
    this.#lastError = { at, code: failure.code, message: failure.message };
    const event: PolicyReloadEvent = {
      type: 'policy.refused',
      ts: at,
      source: this.source.description,
      code: failure.code,
      message: failure.message,
      currentHash: this.#policy.hash,
    };
    if (offeredHash !== undefined) event.offeredHash = offeredHash;
    this.#emit(event);
    return this.#attempt('refused', at);
  }

  #attempt(outcome: ReloadOutcome, at = this.#now()): ReloadOutcome {
    this.#lastAttempt = { at, outcome };
    return outcome;
  }

  #emit(event: PolicyReloadEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure must not undo a swap nor hide a refusal: the status still tells.
      }
    }
  }
}

function makeVerifier(options: LivePolicyOptions): BundleVerifier | undefined {
  if (options.format !== undefined && !['auto', 'yaml', 'bundle'].includes(options.format)) throw new DistributionOptionError(`unknown policy format '${String(options.format)}'`);
  if (options.verification === undefined) return undefined;
  if (options.format === 'yaml') throw new DistributionOptionError('signed policies are bundles: format yaml cannot be verified');
  return new BundleVerifier(options.verification);
}

async function decode(document: PolicyDocument, format: PolicyFormat, verifier: BundleVerifier | undefined): Promise<Decoded> {
  const bundle = verifier !== undefined || format === 'bundle' || (format === 'auto' && isGzip(document.bytes));
  if (!bundle) return { policy: compilePolicySource(document.bytes.toString('utf8'), document.origin) };
  if (verifier && !isGzip(document.bytes)) throw new BundleSignatureError('only signed bundles are accepted; the source delivered plain text');
  if (!isGzip(document.bytes)) throw new BundleFormatError('the bundle is not a gzip stream');
  const opened = await openBundle(document.bytes, document.origin, verifier);
  return opened.signedBy === undefined ? { policy: opened.policy } : { policy: opened.policy, signedBy: opened.signedBy };
}
