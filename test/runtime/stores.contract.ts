/** The state-store contract: one suite run against every implementation (memory, Redis) so their semantics cannot drift. */
import { describe, expect, it } from 'vitest';
import type { CounterCheck, CounterStore, RecordScope, RevokeFilter, SessionRecord, SessionStore, SingleUseStore } from '../../src/runtime/index.js';

/** Fresh, empty stores of one implementation (a new namespace per call). */
export interface StoreSet {
  singleUse<T>(name: string): SingleUseStore<T>;
  counters(): CounterStore;
  sessions(historyLimit: number): SessionStore;
}

const T0 = Date.UTC(2026, 0, 1, 12);

function scope(overrides: Partial<RecordScope> = {}): RecordScope {
  return { tenant: 'acme', session: 'ses_1', run: 'run_1', intent: 'sha256:i1', plan: 'sha256:p1', ...overrides };
}

function check(key: string, limit: number, windowMs: number, cost = 1, name = key): CounterCheck {
  return { key: `acme\u0000code\u0000\u0000${key}`, name, limit, windowMs, cost };
}

function session(id: string, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return { id, tenant: 'acme', createdAt: T0, expiresAt: T0 + 3_600_000, revoked: false, actionsRun: 0, counts: {}, cumulativeRisk: 0, history: [], metadata: {}, version: 0, ...overrides };
}

/** Declares the contract suite for stores made by `make` (called once per test). */
export function describeStoreContract(name: string, make: () => StoreSet | Promise<StoreSet>): void {
  describe(`store contract (${name}): single-use records`, () => {
    it('takes a record exactly once; peek does not use it', async () => {
      const store = (await make()).singleUse<{ n: number; s: string }>('tokens');
      await store.put('a', scope(), T0 + 1000, { n: 1, s: 'é😀\u0000' });
      expect(await store.peek('a', T0)).toEqual({ status: 'ok', record: { n: 1, s: 'é😀\u0000' } });
      expect(await store.peek('a', T0)).toEqual({ status: 'ok', record: { n: 1, s: 'é😀\u0000' } });
      expect(await store.take('a', T0)).toEqual({ status: 'ok', record: { n: 1, s: 'é😀\u0000' } });
      expect(await store.take('a', T0)).toEqual({ status: 'used' });
      expect(await store.peek('a', T0)).toEqual({ status: 'used' });
    });

    it('answers unknown for an id never put', async () => {
      const store = (await make()).singleUse<number>('tokens');
      expect(await store.take('nope', T0)).toEqual({ status: 'unknown' });
      expect(await store.peek('nope', T0)).toEqual({ status: 'unknown' });
    });

    it('answers expired from the expiry on (inclusive) and does not use an expired record', async () => {
      const store = (await make()).singleUse<number>('tokens');
      await store.put('a', scope(), T0 + 1000, 7);
      expect(await store.take('a', T0 + 1000)).toEqual({ status: 'expired' });
      expect(await store.take('a', T0 + 5000)).toEqual({ status: 'expired' });
      // Expiry is decided by the caller's clock: the same record is still usable before it.
      expect(await store.take('a', T0 + 999)).toEqual({ status: 'ok', record: 7 });
      expect(await store.take('a', T0 + 5000)).toEqual({ status: 'used' });
    });

    it('of many concurrent takes of one record, exactly one succeeds', async () => {
      const store = (await make()).singleUse<number>('tokens');
      await store.put('a', scope(), T0 + 1000, 1);
      const results = await Promise.all(Array.from({ length: 50 }, () => store.take('a', T0)));
      expect(results.filter((r) => r.status === 'ok')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'used')).toHaveLength(49);
    });

    it('revokes one record by id; a revoked record cannot be taken and is not revoked twice', async () => {
      const store = (await make()).singleUse<number>('tokens');
      await store.put('a', scope(), T0 + 1000, 1);
      await store.put('b', scope(), T0 + 1000, 2);
      expect(await store.revoke({ id: 'a' })).toBe(1);
      expect(await store.revoke({ id: 'a' })).toBe(0);
      expect(await store.take('a', T0)).toEqual({ status: 'revoked' });
      expect(await store.peek('a', T0 + 5000)).toEqual({ status: 'revoked' });
      expect(await store.take('b', T0)).toEqual({ status: 'ok', record: 2 });
      expect(await store.revoke({ id: 'b' })).toBe(0);
      expect(await store.take('b', T0)).toEqual({ status: 'used' });
      expect(await store.revoke({ id: 'missing' })).toBe(0);
    });

    it('revokes by every scope field and by combinations; every given field must match', async () => {
      const records: [string, RecordScope][] = [
        ['a1', scope()],
        ['a2', scope({ run: 'run_2', plan: 'sha256:p2' })],
        ['a3', scope({ session: 'ses_2', run: 'run_3', intent: 'sha256:i2' })],
        ['b1', scope({ tenant: 'beta', session: 'ses_9', run: 'run_9' })],
        ['b2', scope({ tenant: 'beta', session: 'ses_9', run: 'run_9', plan: 'sha256:p2' })],
      ];
      const all = records.map(([id]) => id);
      const cases: [RevokeFilter, number, string[]][] = [
        [{ tenant: 'acme' }, 3, ['b1', 'b2']],
        [{ session: 'ses_9' }, 2, ['a1', 'a2', 'a3']],
        [{ run: 'run_1' }, 1, ['a2', 'a3', 'b1', 'b2']],
        [{ intent: 'sha256:i2' }, 1, ['a1', 'a2', 'b1', 'b2']],
        [{ plan: 'sha256:p2' }, 2, ['a1', 'a3', 'b1']],
        [{ tenant: 'beta', plan: 'sha256:p2' }, 1, ['a1', 'a2', 'a3', 'b1']],
        [{ tenant: 'acme', run: 'run_9' }, 0, all],
        [{ tenant: 'nobody' }, 0, all],
        [{ id: 'a2', tenant: 'acme' }, 1, ['a1', 'a3', 'b1', 'b2']],
        [{ id: 'a2', tenant: 'beta' }, 0, all],
        [{ id: 'a2', run: 'run_2', plan: 'sha256:p2' }, 1, ['a1', 'a3', 'b1', 'b2']],
        [{ all: true }, 5, []],
        [{}, 0, all],
      ];
      for (const [filter, count, remaining] of cases) {
        const store = (await make()).singleUse<string>('tokens');
        for (const [id, s] of records) await store.put(id, s, T0 + 60_000, id);
        expect(await store.revoke(filter), JSON.stringify(filter)).toBe(count);
        const live: string[] = [];
        for (const id of all) if ((await store.peek(id, T0)).status === 'ok') live.push(id);
        expect(live, JSON.stringify(filter)).toEqual(remaining);
        for (const id of all) expect((await store.peek(id, T0)).status).toBe(remaining.includes(id) ? 'ok' : 'revoked');
      }
    });

    it('revocation skips used records, counts expired unused ones, and leaves records put later alone', async () => {
      const store = (await make()).singleUse<number>('tokens');
      await store.put('used', scope(), T0 + 1000, 1);
      await store.put('expired', scope(), T0 + 10, 2);
      await store.put('live', scope(), T0 + 1000, 3);
      expect((await store.take('used', T0)).status).toBe('ok');
      expect(await store.revoke({ run: 'run_1' })).toBe(2);
      expect(await store.take('used', T0)).toEqual({ status: 'used' });
      expect(await store.take('expired', T0 + 100)).toEqual({ status: 'revoked' });
      expect(await store.take('live', T0)).toEqual({ status: 'revoked' });
      await store.put('later', scope(), T0 + 1000, 4);
      expect(await store.take('later', T0)).toEqual({ status: 'ok', record: 4 });
    });

    it('a filter value that is not a string matches nothing', async () => {
      const store = (await make()).singleUse<number>('tokens');
      await store.put('a', scope({ tenant: '5' }), T0 + 1000, 1);
      expect(await store.revoke({ tenant: 5 } as unknown as { tenant: string })).toBe(0);
      expect(await store.revoke({ id: 5 } as unknown as { id: string })).toBe(0);
      expect((await store.peek('a', T0)).status).toBe('ok');
    });

    it('putting an id again replaces the record and its scope', async () => {
      const store = (await make()).singleUse<number>('tokens');
      await store.put('a', scope(), T0 + 1000, 1);
      await store.put('a', scope({ run: 'run_2' }), T0 + 2000, 2);
      expect(await store.revoke({ run: 'run_1' })).toBe(0);
      expect(await store.peek('a', T0 + 1500)).toEqual({ status: 'ok', record: 2 });
      expect(await store.revoke({ run: 'run_2' })).toBe(1);
    });

    it('two stores (tokens, approvals) do not share ids', async () => {
      const set = await make();
      const tokens = set.singleUse<number>('tokens');
      const approvals = set.singleUse<number>('approvals');
      await tokens.put('x', scope(), T0 + 1000, 1);
      expect(await approvals.take('x', T0)).toEqual({ status: 'unknown' });
      await approvals.put('x', scope(), T0 + 1000, 2);
      expect(await approvals.revoke({ all: true })).toBe(1);
      expect(await tokens.take('x', T0)).toEqual({ status: 'ok', record: 1 });
    });
  });

  describe(`store contract (${name}): counters`, () => {
    it('lets a windowed counter reach its limit, reports usage and the window end, and resets at the window end', async () => {
      const store = (await make()).counters();
      const c = check('action:read_file', 3, 60_000);
      for (let i = 0; i < 3; i++) expect(await store.consume([c], T0 + i)).toEqual({ ok: true });
      expect(await store.consume([c], T0 + 10)).toEqual({ ok: false, check: c, used: 3, resetAt: T0 + 60_000 });
      expect(await store.value(c.key, c.windowMs, T0 + 59_999)).toBe(3);
      expect(await store.value(c.key, c.windowMs, T0 + 60_000)).toBe(0);
      expect(await store.consume([c], T0 + 60_000)).toEqual({ ok: true });
      expect(await store.value(c.key, c.windowMs, T0 + 60_001)).toBe(1);
      // Windows are aligned to multiples of their length, not to the first call.
      expect(await store.consume([check('k', 1, 7000)], T0 + 5)).toEqual({ ok: true });
      expect(await store.consume([check('k', 1, 7000)], T0 + 6)).toMatchObject({ ok: false, resetAt: T0 + 5 - ((T0 + 5) % 7000) + 7000 });
    });

    it('a clock moved back to an earlier window starts that counter afresh', async () => {
      const store = (await make()).counters();
      const c = check('g', 2, 1000);
      await store.consume([c], T0 + 1500);
      await store.consume([c], T0 + 1500);
      expect(await store.value(c.key, 1000, T0 + 500)).toBe(0);
      expect(await store.consume([c], T0 + 500)).toEqual({ ok: true });
      expect(await store.value(c.key, 1000, T0 + 500)).toBe(1);
      expect(await store.value(c.key, 1000, T0 + 1500)).toBe(0);
    });

    it('a quota (no window) never resets and reports an infinite reset time', async () => {
      const store = (await make()).counters();
      const c = check('global', 2, 0);
      expect(await store.consume([c], T0)).toEqual({ ok: true });
      expect(await store.consume([c], T0 + 86_400_000 * 400)).toEqual({ ok: true });
      expect(await store.consume([c], T0 + 86_400_000 * 800)).toEqual({ ok: false, check: c, used: 2, resetAt: Number.POSITIVE_INFINITY });
      expect(await store.value(c.key, 0, T0 + 86_400_000 * 900)).toBe(2);
    });

    it('checks every counter before adding: a batch that does not fit records nothing and names the first counter that did not fit', async () => {
      const store = (await make()).counters();
      const a = check('a', 10, 60_000);
      const b = check('b', 1, 0);
      const c = check('c', 1, 60_000);
      expect(await store.consume([a, b, c], T0)).toEqual({ ok: true });
      expect(await store.consume([a, b, c], T0)).toEqual({ ok: false, check: b, used: 1, resetAt: Number.POSITIVE_INFINITY });
      expect(await store.consume([a, c, b], T0)).toEqual({ ok: false, check: c, used: 1, resetAt: T0 - (T0 % 60_000) + 60_000 });
      expect(await store.value(a.key, a.windowMs, T0)).toBe(1);
      expect(await store.value(b.key, 0, T0)).toBe(1);
      expect(await store.consume([], T0)).toEqual({ ok: true });
    });

    it('adds costs (a risk budget) and refuses the call that would pass the budget', async () => {
      const store = (await make()).counters();
      const risk = check('risk_budget', 10, 0, 4);
      expect(await store.consume([risk], T0)).toEqual({ ok: true });
      expect(await store.consume([risk], T0)).toEqual({ ok: true });
      expect(await store.consume([risk], T0)).toEqual({ ok: false, check: risk, used: 8, resetAt: Number.POSITIVE_INFINITY });
      expect(await store.consume([{ ...risk, cost: 2 }], T0)).toEqual({ ok: true });
      expect(await store.value(risk.key, 0, T0)).toBe(10);
      expect(await store.consume([check('zero', 0, 1000)], T0)).toMatchObject({ ok: false, used: 0 });
    });

    it('sums fractional costs to the same double as JavaScript', async () => {
      const store = (await make()).counters();
      const c = check('f', 1, 0, 0.1);
      for (let i = 0; i < 3; i++) await store.consume([c], T0);
      expect(await store.value(c.key, 0, T0)).toBe(0.1 + 0.1 + 0.1);
    });

    it('a key listed twice in one batch is checked against its value before the batch and counted twice', async () => {
      const store = (await make()).counters();
      const c = check('dup', 2, 0);
      expect(await store.consume([c, c], T0)).toEqual({ ok: true });
      expect(await store.value(c.key, 0, T0)).toBe(2);
      expect(await store.consume([c], T0)).toMatchObject({ ok: false, used: 2 });
    });

    it('of many concurrent calls against a limit of 5, exactly 5 are recorded', async () => {
      const store = (await make()).counters();
      const c = check('burst', 5, 60_000);
      const results = await Promise.all(Array.from({ length: 40 }, () => store.consume([c, check('other', 1000, 0)], T0)));
      expect(results.filter((r) => r.ok)).toHaveLength(5);
      expect(await store.value(c.key, 60_000, T0)).toBe(5);
      expect(await store.value(check('other', 1000, 0).key, 0, T0)).toBe(5);
    });

    it('keys are separate: tenants, sources and scopes do not share a counter', async () => {
      const store = (await make()).counters();
      const mine = { key: 'acme\u0000code\u0000ses_1\u0000session', name: 'session', limit: 1, windowMs: 0, cost: 1 };
      const theirs = { ...mine, key: 'beta\u0000code\u0000ses_1\u0000session' };
      expect(await store.consume([mine], T0)).toEqual({ ok: true });
      expect(await store.consume([theirs], T0)).toEqual({ ok: true });
      expect(await store.consume([mine], T0)).toMatchObject({ ok: false });
      expect(await store.value('absent', 1000, T0)).toBe(0);
    });
  });

  describe(`store contract (${name}): sessions`, () => {
    it('creates, reads and answers undefined for an unknown session', async () => {
      const store = (await make()).sessions(10);
      const record = session('ses_a', { metadata: { user: 'u1', tags: [], nested: { a: [1, 'x', null, true, {}] } } });
      await store.create(record);
      expect(await store.get('ses_a')).toEqual(record);
      expect(await store.get('ses_b')).toBeUndefined();
      expect(await store.record('ses_b', { action: 'read_file', tool: 't', risk: 1, at: T0, outcome: 'ok' })).toBeUndefined();
      expect(await store.revoke('ses_b')).toBe(false);
    });

    it('records actions: counts, last action, cumulative risk and history, returning the updated session', async () => {
      const store = (await make()).sessions(10);
      await store.create(session('ses_a'));
      const e1 = { action: 'read_file', tool: 'fs.read', risk: 2, at: T0 + 1, outcome: 'ok' as const };
      const e2 = { action: 'write_file', tool: 'fs.write', risk: 4, at: T0 + 2, outcome: 'error' as const };
      const after1 = await store.record('ses_a', e1);
      expect(after1).toEqual({ ...session('ses_a'), actionsRun: 1, counts: { read_file: 1 }, lastAction: 'read_file', cumulativeRisk: 2, history: [e1], version: 1 });
      await store.record('ses_a', e2);
      const after3 = await store.record('ses_a', e1);
      const expected = { ...session('ses_a'), actionsRun: 3, counts: { read_file: 2, write_file: 1 }, lastAction: 'read_file', cumulativeRisk: 8, history: [e1, e2, e1], version: 3 };
      expect(after3).toEqual(expected);
      expect(await store.get('ses_a')).toEqual(expected);
    });

    it('keeps the last historyLimit entries and complete counts', async () => {
      const store = (await make()).sessions(3);
      await store.create(session('ses_a'));
      for (let i = 0; i < 5; i++) await store.record('ses_a', { action: `a${i % 2}`, tool: 't', risk: 1, at: T0 + i, outcome: 'ok' });
      const r = await store.get('ses_a');
      expect(r?.history.map((e) => e.at)).toEqual([T0 + 2, T0 + 3, T0 + 4]);
      expect(r?.counts).toEqual({ a0: 3, a1: 2 });
      expect(r?.actionsRun).toBe(5);
    });

    it('revokes a session', async () => {
      const store = (await make()).sessions(10);
      await store.create(session('ses_a'));
      expect(await store.revoke('ses_a')).toBe(true);
      expect(await store.get('ses_a')).toMatchObject({ revoked: true, actionsRun: 0 });
    });

    it('records concurrent actions without losing one', async () => {
      const store = (await make()).sessions(100);
      await store.create(session('ses_a'));
      await Promise.all(Array.from({ length: 40 }, (_, i) => store.record('ses_a', { action: 'read_file', tool: 't', risk: 1, at: T0 + i, outcome: 'ok' })));
      const r = await store.get('ses_a');
      expect(r).toMatchObject({ actionsRun: 40, counts: { read_file: 40 }, cumulativeRisk: 40 });
      expect(r?.history).toHaveLength(40);
    });

    it('keeps a session created with existing state', async () => {
      const store = (await make()).sessions(10);
      const e = { action: 'list_directory', tool: 'fs.list', risk: 1, at: T0, outcome: 'ok' as const };
      const record = session('ses_a', { revoked: false, actionsRun: 2, counts: { list_directory: 2 }, lastAction: 'list_directory', cumulativeRisk: 2.5, history: [e, e], version: 7 });
      await store.create(record);
      expect(await store.get('ses_a')).toEqual(record);
    });

    it('reserves atomically: only at the version the decision read, only while the session is live', async () => {
      const store = (await make()).sessions(10);
      await store.create(session('ses_a'));
      const r1 = await store.reserve('ses_a', 0, { action: 'read_file', risk: 2 }, T0);
      expect(r1).toEqual({ status: 'ok', record: { ...session('ses_a'), actionsRun: 1, counts: { read_file: 1 }, lastAction: 'read_file', cumulativeRisk: 2, version: 1 } });
      // A decision made on version 0 is stale now: the store answers the current record instead.
      expect(await store.reserve('ses_a', 0, { action: 'read_file', risk: 2 }, T0)).toMatchObject({ status: 'conflict', record: { version: 1, cumulativeRisk: 2 } });
      // Version -1: the decision read no session fact; the reservation applies whatever the version.
      expect(await store.reserve('ses_a', -1, { action: 'list_directory', risk: 1 }, T0)).toMatchObject({ status: 'ok', record: { version: 2, cumulativeRisk: 3 } });
      const e = { action: 'read_file', tool: 'fs.read', risk: 2, at: T0, outcome: 'ok' as const };
      expect(await store.complete('ses_a', e)).toMatchObject({ actionsRun: 2, cumulativeRisk: 3, history: [e], version: 2 });
      expect(await store.reserve('ses_a', 2, { action: 'read_file', risk: 2 }, T0 + 3_600_000)).toEqual({ status: 'expired' });
      expect(await store.reserve('ses_b', 0, { action: 'read_file', risk: 2 }, T0)).toEqual({ status: 'unknown' });
      expect(await store.complete('ses_b', e)).toBeUndefined();
      await store.revoke('ses_a');
      expect(await store.reserve('ses_a', 2, { action: 'read_file', risk: 2 }, T0)).toEqual({ status: 'revoked' });
    });

    it('of concurrent reservations at one version exactly one applies', async () => {
      const store = (await make()).sessions(10);
      await store.create(session('ses_a'));
      const results = await Promise.all(Array.from({ length: 20 }, () => store.reserve('ses_a', 0, { action: 'read_file', risk: 1 }, T0)));
      expect(results.filter((r) => r.status === 'ok')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'conflict')).toHaveLength(19);
      expect(await store.get('ses_a')).toMatchObject({ actionsRun: 1, cumulativeRisk: 1, version: 1 });
    });
  });
}
