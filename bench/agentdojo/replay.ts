/**
 * Replays AgentDojo cases through APE's runtime the way a deployed agent would run them: every tool
 * is guarded, the user's prompt is recorded as the user's words, every tool output the agent reads
 * is recorded by the runtime, and each call is decided with provenance by origin. The replay sees
 * only `ReplayCase` (prompt and calls): never the case's kind nor which output carries an injection.
 */
import { Ape, type AgentSession, type ApprovalRequest } from '../../src/agent/index.js';
import type { DecisionRequest } from '../../src/compiler/index.js';
import type { DecisionResult } from '../../src/compiler/index.js';
import { isApeError } from '../../src/errors.js';
import type { DecisionLogEntry } from '../../src/runtime/index.js';
import type { Json, ReplayCase } from './cases.js';

/** The decision of one call, as the engine gave it, with the exact request it decided. */
export interface CallDecision {
  request: DecisionRequest;
  decision: DecisionResult;
}

/** A replayer for one suite on one engine: one Ape, one session per case. */
export class SuiteReplayer {
  readonly #ape: Ape;
  readonly #log: DecisionLogEntry[];
  readonly #prefix: string;

  private constructor(ape: Ape, log: DecisionLogEntry[], prefix: string) {
    this.#ape = ape;
    this.#log = log;
    this.#prefix = prefix;
  }

  /**
   * An Ape on the suite's policy with provenance by origin (unless `origins` is false: for the
   * cost figure only), told every decision. A tool `f` is the action `<prefix>f`.
   */
  static async create(policyFile: string, engine: string, prefix: string, origins = true): Promise<SuiteReplayer> {
    const log: DecisionLogEntry[] = [];
    const ape = await Ape.fromPolicy(policyFile, {
      engine,
      origins,
      sessionTtlMs: 24 * 3_600_000,
      decisionLog: (entry) => {
        if (entry.stage === 'call') log.push(entry);
      },
    });
    return new SuiteReplayer(ape, log, prefix);
  }

  /**
   * Runs a case's calls in order in a fresh session. An escalated call is approved (the replay plays
   * a human who says yes, so the trace goes on; the scoring counts the escalation); a denied call does
   * not run, so its output is never read. Returns one decision per call.
   */
  async replay(c: ReplayCase, trusted: Json | undefined): Promise<CallDecision[]> {
    const session: AgentSession = this.#ape.createSession();
    if (this.#ape.runtime.tracksOrigins) {
      await session.recordInput('user', c.prompt);
      if (trusted !== undefined) await session.recordInput('system', trusted);
    }
    const out: CallDecision[] = [];
    for (const call of c.calls) {
      this.#log.length = 0;
      const approve = async (_request: ApprovalRequest) => ({ approved: true, approver: 'replay' });
      try {
        await this.#ape.call(
          this.#prefix + call.function,
          call.args as Record<string, never>,
          async () => {
            if (call.error !== null) throw new Error(call.error);
            return call.result;
          },
          { session, approve },
        );
      } catch (error) {
        // A denial, or the tool's own recorded error: the decision is in the log either way.
        if (!isApeError(error)) throw error;
      }
      const entry = this.#log.at(-1);
      if (!entry) throw new Error(`no decision was made for ${call.function}: ${JSON.stringify(call.args)}`);
      out.push({ request: entry.request, decision: entry.result });
    }
    return out;
  }

  close(): Promise<void> {
    return this.#ape.close();
  }
}
