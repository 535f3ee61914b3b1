/** The `PolicySource` interface: where a live policy's documents come from (a watched file, a polled URL). */
import type { ApeError } from '../../errors.js';

/** One document a source delivered: a policy's YAML text or a bundle (tar.gz), as bytes. */
export interface PolicyDocument {
  bytes: Buffer;
  /** Where it came from (a path or URL), for diagnostics and audit. */
  origin: string;
}

/** What a watching source reports to its live policy. */
export interface SourceListener {
  /** A document that differs from the last one delivered. */
  document(document: PolicyDocument): void;
  /** A check found the document unchanged (HTTP 304, same file content). */
  unchanged(): void;
  /** A failed fetch (the current policy stays). */
  error(error: ApeError): void;
}

/** A place a policy is read from and watched. */
export interface PolicySource {
  /** `file:<path>` or the URL: names the source in `policyStatus()` and audit events. */
  readonly description: string;
  /** Reads the document now, unconditionally (the initial load). Throws a typed error. */
  read(): Promise<PolicyDocument>;
  /** Starts watching; changes and failures go to the listener until `stop()`. */
  start(listener: SourceListener): void;
  /** Checks for a change now (what a webhook triggers); the outcome goes to the listener. */
  check(): Promise<void>;
  /** Stops watching and releases timers, watchers and requests. */
  stop(): void;
}
