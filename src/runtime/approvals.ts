/** Answering approval requests: read the approver's answer once, bind the approval to the exact call, and settle it atomically against revocation. */
import { canonicalJson, hashJson } from '../compiler/hash.js';
import type { JsonObject } from '../compiler/ir.js';
import { ParameterValidationError } from '../errors.js';
import type { RuntimeCore } from './core.js';
import { ApprovalError, InputError } from './errors.js';
import type { ApprovalRecord, ApprovalResponse } from './escalation.js';
import { plainCopy, readFields } from './plain.js';
import { requireTrusted } from './provenance.js';
import type { RecordScope } from './stores/types.js';

/** An approval record with the ids of the run state it was made under (intent version, plan hash, policy hash). */
export interface BoundApproval extends ApprovalRecord {
  intent: string;
  plan: string;
  policy: string;
}

/** The hash binding an approval to {run, intent, plan, policy, step, action, tool, params}. */
export function approvalCallHash(r: { run: string; intent: string; plan: string; policy: string; step: number; action: string; tool: string }, params: JsonObject): string {
  return hashJson({ run: r.run, intent: r.intent, plan: r.plan, policy: r.policy, step: r.step, action: r.action, tool: r.tool, params });
}

/** An approver's answer read once into plain data. Throws `InputError` for anything but `{approved: boolean, ...}`. */
export function readAnswer(input: unknown): ApprovalResponse {
  const f = readFields(input, 'approval answer', ['approved', 'approver', 'params', 'reason', 'note']);
  if (typeof f.approved !== 'boolean') throw new InputError('approval answer', '/approved', 'must be a boolean');
  if (!f.approved) return f.reason === undefined ? { approved: false } : { approved: false, reason: String(f.reason) };
  const answer: ApprovalResponse = { approved: true, approver: String(f.approver) };
  if (f.params !== undefined) answer.params = plainCopy(f.params, 'approval answer', { labeled: true }) as JsonObject;
  return answer;
}

/** The ids an approval's audit events carry. */
function ids(r: BoundApproval) {
  return { tenant: r.tenant, session: r.request.session, run: r.run, intent: r.intent, plan: r.plan, step: r.step, action: r.action, tool: r.tool };
}

/** Applies an answer to a pending record (audited); an edit rebinds the approval to the edited call. */
export function applyAnswer(core: RuntimeCore, record: BoundApproval, answer: ApprovalResponse): BoundApproval {
  if (!answer.approved) {
    core.auditor.emit({ type: 'approval.denied', ...ids(record), data: { request: record.id, reason: answer.reason ?? 'denied' } });
    return { ...record, status: 'denied' };
  }
  let params = record.params;
  let edited = false;
  if (answer.params !== undefined) {
    const plain = requireTrusted('approval', answer.params, 'user');
    if (plain === null || typeof plain !== 'object' || Array.isArray(plain)) throw new ParameterValidationError(record.action, '', 'approved parameters must be an object');
    params = JSON.parse(canonicalJson(plain)) as JsonObject;
    edited = canonicalJson(params) !== canonicalJson(record.params);
  }
  core.auditor.emit({
    type: 'approval.granted', ...ids(record),
    data: { request: record.id, approver: String(answer.approver), edited, params: core.auditor.redact(params) },
  });
  return { ...record, status: 'approved', params, edited, approver: String(answer.approver), callHash: approvalCallHash(record, params) };
}

/**
 * Settles an answered request: the pending record is taken (single use, atomic), so an answer to a
 * request revoked meanwhile (intent or plan changed, run terminated, tokens revoked) is refused with
 * `ApprovalError`; an approval is stored under a fresh id. Returns the approval id.
 */
export async function settleApproval(core: RuntimeCore, answered: BoundApproval, scope: RecordScope): Promise<string> {
  const taken = await core.approvals.take(answered.id, core.now(), answered.tenant);
  if (taken.status !== 'ok') throw new ApprovalError(answered.id, taken.status === 'used' ? 'used' : taken.status === 'expired' ? 'expired' : taken.status === 'revoked' ? 'revoked' : 'unknown');
  if (answered.status !== 'approved') return answered.id;
  const id = `${answered.id}.ok`;
  await core.approvals.put(id, scope, answered.request.expiresAt, { ...answered, id });
  return id;
}
