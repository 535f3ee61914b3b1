/** Audit sinks: memory, a callback, and a hash-chained JSONL file. */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import type { JsonObject } from '../../compiler/ir.js';
import { RuntimeConfigError } from '../errors.js';
import { GENESIS, chainLine, verifyChain } from './chain.js';
import type { AuditEvent, AuditSink } from './events.js';

/** Keeps events in an array. */
export class MemorySink implements AuditSink {
  readonly events: AuditEvent[] = [];
  write(event: AuditEvent): void {
    this.events.push(event);
  }
  /** Forgets every event (for long-running benchmarks). */
  clear(): void {
    this.events.length = 0;
  }
}

/** Hands each event to a function (a queue, a logger, a SIEM client). */
export class CallbackSink implements AuditSink {
  readonly #fn: (event: AuditEvent) => void;
  constructor(fn: (event: AuditEvent) => void) {
    this.#fn = fn;
  }
  write(event: AuditEvent): void {
    this.#fn(event);
  }
}

/**
 * Appends events to a JSONL file, one line each, hash-chained: `seq`, `prev` (the previous line's
 * hash) and `hash`. An existing file is verified and continued; a broken one is refused.
 */
export class JsonlSink implements AuditSink {
  readonly file: string;
  #seq = 0;
  #prev = GENESIS;

  constructor(file: string) {
    this.file = file;
    if (existsSync(file)) {
      const result = verifyChain(readFileSync(file, 'utf8'));
      if (!result.ok) throw new RuntimeConfigError(`audit log ${file} is broken at line ${result.line}: ${result.reason}`);
      this.#seq = result.lines;
      this.#prev = result.head;
    }
  }

  /** The hash of the last line written: keep it elsewhere to detect truncation later. */
  get head(): string {
    return this.#prev;
  }

  write(event: AuditEvent): void {
    const content = { ...(JSON.parse(JSON.stringify(event)) as JsonObject), seq: this.#seq, prev: this.#prev };
    const { line, hash } = chainLine(content);
    appendFileSync(this.file, `${line}\n`);
    this.#seq += 1;
    this.#prev = hash;
  }
}
