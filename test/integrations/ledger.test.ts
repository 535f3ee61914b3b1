// The approval ledger every integration uses: one record per framework call, first record wins, taken once, bound to tool, action and canonical arguments, expiring.
import { afterAll, describe, expect, it } from 'vitest';
import type { ApprovalRequest } from '../../src/agent/index.js';
import { ApprovalLedger, IntegrationConfigError } from '../../src/integrations/core/index.js';
import { fakeClock, makeApe, workspace } from './helpers.js';
import { closedAfterEach } from '../agent/helpers.js';

const { root, cleanup } = workspace();
afterAll(cleanup);
const apes = closedAfterEach();

function request(action: string, params: Record<string, unknown>): ApprovalRequest {
  return { kind: 'call', id: 'apr_1', tenant: 'default', session: 's', run: 'r', action, tool: action, params: params as never, reasons: [], expiresAt: 0 };
}

async function ledger(ttl = 60_000) {
  const clock = fakeClock();
  const { ape } = await makeApe(root, { now: clock.now });
  apes.push(ape);
  return { clock, ledger: new ApprovalLedger(ape, 'test', { approvalTtlMs: ttl }), ape };
}

describe('ApprovalLedger', () => {
  it('approves the recorded call once, with keys in any order (canonical arguments)', async () => {
    const { ledger: l } = await ledger();
    await l.open('delete_file', 'delete_file', 'c1', { path: '/a', force: false });
    const approve = l.approver('delete_file', 'c1', { approved: true, approver: 'human' });
    expect(await approve(request('delete_file', { force: false, path: '/a' }))).toEqual({ approved: true, approver: 'human' });
    expect(await approve(request('delete_file', { force: false, path: '/a' }))).toMatchObject({ approved: false, reason: expect.stringContaining('already used') });
  });

  it('refuses other arguments, another action, another tool, an unknown call and a missing answer', async () => {
    const { ledger: l } = await ledger();
    for (const id of ['c1', 'c2', 'c3']) await l.open('delete_file', 'delete_file', id, { path: '/a' });
    const yes = { approved: true as const, approver: 'human' };
    expect(await l.approver('delete_file', 'c1', yes)(request('delete_file', { path: '/b' }))).toMatchObject({ approved: false, reason: expect.stringContaining('bound to other arguments') });
    expect(await l.approver('delete_file', 'c2', yes)(request('write_file', { path: '/a' }))).toMatchObject({ approved: false, reason: expect.stringContaining('bound to other arguments') });
    expect(await l.approver('rm', 'c3', yes)(request('delete_file', { path: '/a' }))).toMatchObject({ approved: false, reason: expect.stringContaining('no approval was requested') });
    expect(await l.approver('delete_file', 'c9', yes)(request('delete_file', { path: '/a' }))).toMatchObject({ approved: false, reason: expect.stringContaining('no approval was requested') });
    expect(await l.approver('delete_file', 'c3', undefined)(request('delete_file', { path: '/a' }))).toMatchObject({ approved: false, reason: expect.stringContaining('no approval was requested') });
  });

  it('the first record wins: asking again neither renews the expiry nor rebinds the arguments', async () => {
    const { ledger: l, clock } = await ledger(60_000);
    const expires = await l.open('delete_file', 'delete_file', 'c1', { path: '/a' });
    clock.advance(50_000);
    expect(await l.open('delete_file', 'delete_file', 'c1', { path: '/b' })).toBe(expires);
    clock.advance(11_000);
    const approve = l.approver('delete_file', 'c1', { approved: true, approver: 'human' });
    expect(await approve(request('delete_file', { path: '/a' }))).toMatchObject({ approved: false, reason: expect.stringContaining('expired') });
  });

  it('a rejection is passed on and still uses the record; an edit carries the edited arguments', async () => {
    const { ledger: l } = await ledger();
    await l.open('delete_file', 'delete_file', 'c1', { path: '/a' });
    expect(await l.approver('delete_file', 'c1', { approved: false, reason: 'no' })(request('delete_file', { path: '/a' }))).toEqual({ approved: false, reason: 'no' });
    await l.open('delete_file', 'delete_file', 'c2', { path: '/a' });
    expect(await l.approver('delete_file', 'c2', { approved: true, approver: 'h', params: { path: '/b' } })(request('delete_file', { path: '/a' }))).toEqual({ approved: true, approver: 'h', params: { path: '/b' } });
  });

  it('rejects a bad TTL', async () => {
    const { ape } = await ledger();
    expect(() => new ApprovalLedger(ape, 'x', { approvalTtlMs: 0 })).toThrow(IntegrationConfigError);
    expect(() => new ApprovalLedger(ape, 'x', { approvalTtlMs: Number.NaN })).toThrow(IntegrationConfigError);
  });
});
