/** Escalation: approval requests, the application's async approval handler, and single-use approvals bound to one exact call. */
import type { JsonObject, JsonValue } from '../compiler/ir.js';
import { EscalationDeniedError, EscalationRequiredError } from './errors.js';

/** What an approver is asked. `kind: 'call'` approves one exact call; `declassify` vouches for untrusted data. */
export interface ApprovalRequest {
  kind: 'call' | 'declassify';
  /** The request id; an approval answers exactly this request. */
  id: string;
  tenant: string;
  session: string;
  run: string;
  step?: number;
  action?: string;
  tool?: string;
  /** The canonical parameters of the call (frozen), or the value to declassify. */
  params: Readonly<JsonValue>;
  /** The rule that escalated, and why. */
  rule?: string | null;
  reasons: string[];
  /** Epoch milliseconds after which the approval can no longer be used. */
  expiresAt: number;
}

/** An approver's answer. `params` (optional) replaces the call's parameters; the edited call is decided again. */
export type ApprovalResponse =
  | { approved: true; approver: string; params?: JsonObject; note?: string }
  | { approved: false; approver?: string; reason?: string };

/**
 * Asks a person or a system (CLI prompt, web hook, queue) to approve a request. A handler that has
 * nobody to ask may throw `EscalationRequiredError`: the request stays pending, as without a handler.
 */
export type ApprovalHandler = (request: ApprovalRequest) => Promise<ApprovalResponse>;

/** A stored approval: pending until answered, then bound to the exact call it approves. */
export interface ApprovalRecord {
  id: string;
  status: 'pending' | 'approved' | 'denied';
  tenant: string;
  run: string;
  step: number;
  action: string;
  tool: string;
  /** The parameters the approval is for (the approver's edit when there was one). */
  params: JsonObject;
  /** Hash binding the approval to {run, intent, plan, step, action, tool, params}. */
  callHash: string;
  approver?: string;
  edited: boolean;
  request: ApprovalRequest;
}

/** Calls the handler, bounded by `timeoutMs`. Throws `EscalationDeniedError` on timeout or a handler failure. */
export async function askApprover(handler: ApprovalHandler, request: ApprovalRequest, timeoutMs: number, label: string): Promise<ApprovalResponse> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const answer = await Promise.race([Promise.resolve().then(() => handler(request)), timeout]);
    if (answer === 'timeout') throw new EscalationDeniedError(label, request.id, 'timeout');
    if (answer === null || typeof answer !== 'object' || typeof (answer as { approved?: unknown }).approved !== 'boolean') {
      throw new EscalationDeniedError(label, request.id, 'handler_failed', 'the handler returned no {approved} answer');
    }
    return answer;
  } catch (error) {
    if (error instanceof EscalationDeniedError || error instanceof EscalationRequiredError) throw error;
    throw new EscalationDeniedError(label, request.id, 'handler_failed', error instanceof Error ? error.message : String(error));
  } finally {
    clearTimeout(timer);
  }
}
