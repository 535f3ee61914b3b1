/** Audit events and the auditor that stamps, redacts and delivers them to every sink. */
import type { JsonObject, JsonValue } from '../../compiler/ir.js';
import { AuditError } from '../errors.js';
import { DEFAULT_SENSITIVE, reasonScrubber, redactor } from './redact.js';

/** The kinds of audit events. */
export type AuditEventType =
  | 'session.opened'
  | 'session.revoked'
  | 'state.changed'
  | 'intent.set'
  | 'plan.approved'
  | 'plan.rejected'
  | 'decision'
  | 'rate_limit.exceeded'
  | 'provenance.refused'
  | 'token.issued'
  | 'token.consumed'
  | 'token.refused'
  | 'token.revoked'
  | 'input.refused'
  | 'approval.requested'
  | 'approval.granted'
  | 'approval.denied'
  | 'approval.used'
  | 'declassified'
  | 'execution.completed'
  | 'execution.failed'
  | 'gate.observed'
  | 'policy.swapped'
  | 'policy.refused';

/** One audit event. Correlation ids (tenant, session, run, intent, plan, step, call) tie events of one call together. */
export interface AuditEvent {
  type: AuditEventType;
  /** Epoch milliseconds. */
  ts: number;
  tenant: string;
  session?: string;
  run?: string;
  intent?: string;
  plan?: string;
  step?: number;
  /** Id shared by every event of one call (decision, token, approval, execution). */
  call?: string;
  action?: string;
  tool?: string;
  /** Event details (parameters are redacted). */
  data?: JsonObject;
}

/** Where audit events go. A sink that throws makes the runtime refuse the call it was recording. */
export interface AuditSink {
  write(event: AuditEvent): void;
}

/** Stamps events, redacts parameters and writes to every sink. */
export class Auditor {
  readonly #sinks: AuditSink[];
  readonly #redact: (value: JsonValue) => JsonValue;
  readonly #scrub: (reasons: readonly string[], params: JsonValue) => string[];
  readonly #now: () => number;

  constructor(sinks: readonly AuditSink[], sensitive: readonly string[], now: () => number) {
    this.#sinks = [...sinks];
    this.#redact = redactor([...DEFAULT_SENSITIVE, ...sensitive]);
    this.#scrub = reasonScrubber([...DEFAULT_SENSITIVE, ...sensitive]);
    this.#now = now;
  }

  /** Decision reasons with every quoted value of a redacted parameter replaced (for events and errors alike). */
  redactReasons(reasons: readonly string[], params: JsonValue): string[] {
    return this.#scrub(reasons, params);
  }

  /** Whether any sink listens (events are not built when none does). */
  get active(): boolean {
    return this.#sinks.length > 0;
  }

  /** Redacts a parameters object for an event. */
  redact(params: JsonValue): JsonValue {
    return this.#redact(params);
  }

  /** The auditor's clock (epoch milliseconds), for callers that stamp events themselves (`write`). */
  now(): number {
    return this.#now();
  }

  /** Emits an event to every sink. Throws `AuditError` if a sink fails. */
  emit(event: Omit<AuditEvent, 'ts'>): void {
    if (this.#sinks.length === 0) return;
    this.write({ ts: this.#now(), ...event } as AuditEvent);
  }

  /** Delivers an event the caller built and stamped (`ts` from `now()`) to every sink. Throws `AuditError` if a sink fails. */
  write(stamped: AuditEvent): void {
    for (const sink of this.#sinks) {
      try {
        sink.write(stamped);
      } catch (error) {
        throw new AuditError(`audit sink failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}
