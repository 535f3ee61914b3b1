/** One LangChain tool call through APE: pre-decision, interrupt on escalation, the gate, refusals as error results. */
import type { Ape } from '../../agent/index.js';
import type { JsonObject } from '../../compiler/index.js';
import type { ApeError } from '../../errors.js';
import { PolicyDenyError } from '../../runtime/index.js';
import { precheck, refusalOf, type ApprovalLedger, type FrameworkAnswer, type ResolvedOptions } from '../core/index.js';
import { askHuman } from './approval.js';

/** A tool call as LangChain carries it. */
export interface LcCall {
  name: string;
  id: string;
  args: unknown;
}

/**
 * Decides `call`, asks a human through a LangGraph interrupt when APE escalates, then runs `run`
 * through `ape.call` on the arguments the gate authorized (an approver's edit is decided again).
 * A refusal becomes `refuse(error)` (`onDeny: 'result'`) or is thrown.
 */
export async function guardedCall<T>(ape: Ape, o: ResolvedOptions, ledger: ApprovalLedger, call: LcCall, run: (params: JsonObject) => Promise<T>, refuse: (error: ApeError) => T): Promise<T> {
  const action = o.actionOf(call.name);
  const verdict = await precheck(ape, action, call.args, o.context);
  if (verdict.kind === 'deny') {
    const error = new PolicyDenyError(action, verdict.rule, [verdict.reason]);
    if (o.onDeny === 'throw') throw error;
    return refuse(error);
  }
  let key = call.id;
  let answer: FrameworkAnswer | undefined;
  if (verdict.kind === 'escalate') {
    ({ key, answer } = await askHuman(ledger, { tool: call.name, action, id: call.id, args: call.args as JsonObject, reason: verdict.reason, rule: verdict.rule }));
  }
  try {
    return await ape.call(action, call.args as JsonObject, (params) => run(params as JsonObject), {
      tool: call.name,
      approve: ledger.approver(call.name, key, answer),
      ...(o.context !== undefined ? { context: o.context } : {}),
    });
  } catch (error) {
    const refusal = refusalOf(error);
    if (o.onDeny === 'throw') throw refusal;
    return refuse(refusal);
  }
}
