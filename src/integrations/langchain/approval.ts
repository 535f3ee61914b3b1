/** Escalations through LangGraph interrupts: what the human is shown, and how their answer is read. */
import { getConfig, interrupt } from '@langchain/langgraph';
import type { JsonObject } from '../../compiler/index.js';
import type { ApprovalLedger, FrameworkAnswer } from '../core/index.js';

/** The framework name in approval keys. */
export const LANGGRAPH = 'langgraph';

/** The interrupt value of an escalated call: the exact call the human is asked about. */
export interface ApeInterrupt {
  type: 'ape_approval';
  tool: string;
  action: string;
  /** The arguments of the call, as it will run. */
  args: JsonObject;
  toolCallId: string;
  /** Why APE escalated (rule and reasons). */
  reason: string;
  rule: string | null;
  /** Epoch milliseconds after which the approval is refused. */
  expiresAt: number;
}

/**
 * The resume value (`new Command({ resume })`) answering an `ApeInterrupt`: approve the call, approve
 * it with edited arguments (decided again by APE), or reject it with a message for the model.
 */
export type ApeResume =
  | { type: 'approve' }
  | { type: 'edit'; args: JsonObject }
  | { type: 'reject'; message?: string };

/** The key of a tool call in the ledger: the thread (when there is one) and the call id. */
function callKey(toolCallId: string): string {
  let thread: unknown;
  try {
    thread = getConfig().configurable?.['thread_id'];
  } catch {
    thread = undefined;
  }
  return typeof thread === 'string' || typeof thread === 'number' ? `${thread}/${toolCallId}` : toolCallId;
}

/** Pauses the graph for a human (or reads their answer on resume) and records the pending call. */
export async function askHuman(ledger: ApprovalLedger, call: { tool: string; action: string; id: string; args: JsonObject; reason: string; rule: string | null }): Promise<{ key: string; answer: FrameworkAnswer }> {
  const key = callKey(call.id);
  const expiresAt = await ledger.open(call.tool, call.action, key, call.args);
  const request: ApeInterrupt = { type: 'ape_approval', tool: call.tool, action: call.action, args: call.args, toolCallId: call.id, reason: call.reason, rule: call.rule, expiresAt };
  const resume: unknown = interrupt(request);
  return { key, answer: readResume(resume) };
}

/** Reads a resume value once; anything but a well-formed answer is a refusal. */
function readResume(value: unknown): FrameworkAnswer {
  if (value === null || typeof value !== 'object') return { approved: false, reason: 'the approval answer is not an object' };
  const v = value as { type?: unknown; args?: unknown; message?: unknown };
  const type = v.type;
  if (type === 'approve') return { approved: true, approver: LANGGRAPH };
  if (type === 'reject') return typeof v.message === 'string' ? { approved: false, reason: v.message } : { approved: false };
  if (type === 'edit') {
    const args = v.args;
    if (args === null || typeof args !== 'object' || Array.isArray(args)) return { approved: false, reason: 'edited arguments must be an object' };
    return { approved: true, approver: LANGGRAPH, params: JSON.parse(JSON.stringify(args)) as JsonObject };
  }
  return { approved: false, reason: `unknown approval answer '${String(type)}'` };
}
