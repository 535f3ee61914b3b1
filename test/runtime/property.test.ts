// Property: over random sequences of runtime operations, no tool ever runs without a matching, unexpired, unused token and an allow decision.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/compiler/hash.js';
import { label, MemorySink, type Authorization, type AuditEvent } from '../../src/runtime/index.js';
import { fakeClock, intentFor, makeRuntime, tempRoot } from './helpers.js';

const { root, cleanup } = tempRoot();
writeFileSync(join(root, 'notes.txt'), 'notes');
writeFileSync(join(root, 'k.secret'), 'secret');
afterAll(cleanup);

const variants = ['notes', 'secret', 'outside', 'external', 'traversal'] as const;
type Variant = (typeof variants)[number];
const inputFor = (v: Variant): unknown =>
  v === 'notes' ? label(join(root, 'notes.txt'), 'user')
    : v === 'secret' ? label(join(root, 'k.secret'), 'user')
      : v === 'outside' ? label('/etc/hostname', 'user')
        : v === 'traversal' ? label(`${root}/../../etc/hostname`, 'user')
          : join(root, 'notes.txt');

const tampers = ['none', 'params', 'action', 'step', 'signature', 'claims'] as const;
type Op =
  | { op: 'authorize'; step: number; variant: Variant }
  | { op: 'execute'; token: number; tamper: (typeof tampers)[number] }
  | { op: 'double'; token: number }
  | { op: 'executeStep'; step: number; variant: Variant }
  | { op: 'advance'; ms: number }
  | { op: 'revokeAll' }
  | { op: 'replan' }
  | { op: 'approver'; approve: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('authorize' as const), step: fc.integer({ min: 0, max: 3 }), variant: fc.constantFrom(...variants) }),
  fc.record({ op: fc.constant('execute' as const), token: fc.nat(20), tamper: fc.constantFrom(...tampers) }),
  fc.record({ op: fc.constant('double' as const), token: fc.nat(20) }),
  fc.record({ op: fc.constant('executeStep' as const), step: fc.integer({ min: 0, max: 3 }), variant: fc.constantFrom(...variants) }),
  fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 40_000 }) }),
  fc.constant({ op: 'revokeAll' as const }),
  fc.constant({ op: 'replan' as const }),
  fc.record({ op: fc.constant('approver' as const), approve: fc.boolean() }),
);

interface Issued {
  auth: Authorization;
  exp: number;
  used: boolean;
  revoked: boolean;
}

function tamper(auth: Authorization, how: (typeof tampers)[number]): { token: string; call: Authorization['call'] } {
  const call = auth.call;
  switch (how) {
    case 'none':
      return { token: auth.token, call };
    case 'params':
      return { token: auth.token, call: { ...call, params: { ...call.params, path: join(root, 'k.secret') } } };
    case 'action':
      return { token: auth.token, call: { ...call, action: 'delete_file', tool: 'fs.delete' } };
    case 'step':
      return { token: auth.token, call: { ...call, step: (call.step + 1) % 4 } };
    case 'signature': {
      const [a, b, c] = auth.token.split('.') as [string, string, string];
      return { token: `${a}.${b}.${c.startsWith('A') ? `B${c.slice(1)}` : `A${c.slice(1)}`}`, call };
    }
    case 'claims': {
      const [a, b, c] = auth.token.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(b, 'base64url').toString('utf8')) as Record<string, unknown>;
      claims['exp'] = Number(claims['exp']) + 1_000_000;
      return { token: `${a}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${c}`, call };
    }
  }
}

/** Every execution in the audit trail follows a consumed token, issued after an allow (or an approval) for the same call. */
function checkTrail(events: AuditEvent[]): void {
  const consumed = new Map<string, number>();
  for (const e of events) if (e.type === 'token.consumed') consumed.set(String(e.data?.['token']), (consumed.get(String(e.data?.['token'])) ?? 0) + 1);
  for (const count of consumed.values()) expect(count).toBe(1);
  events.forEach((e, i) => {
    if (e.type !== 'execution.completed' && e.type !== 'execution.failed') return;
    const before = events.slice(0, i).filter((x) => x.call === e.call);
    const consume = before.at(-1);
    expect(consume?.type).toBe('token.consumed');
    const tokenId = String(consume?.data?.['token']);
    const issued = events.slice(0, i).find((x) => x.type === 'token.issued' && x.data?.['token'] === tokenId);
    expect(issued).toBeDefined();
    const callEvents = events.slice(0, events.indexOf(issued as AuditEvent)).filter((x) => x.call === issued?.call);
    const allowed = callEvents.some((x) => x.type === 'decision' && x.data?.['decision'] === 'allow') || callEvents.some((x) => x.type === 'approval.used');
    expect(allowed).toBe(true);
    expect(callEvents.some((x) => x.type === 'decision' && x.data?.['decision'] === 'deny')).toBe(false);
  });
}

describe('runtime properties', () => {
  it('no tool runs without a matching, unexpired, unused token and an allow decision', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 30 }), async (ops) => {
        const clock = fakeClock();
        const audit = new MemorySink();
        let approve = true;
        const { ape, log } = makeRuntime(root, {
          now: clock.now,
          tokenTtlMs: 60_000,
          audit: [audit],
          approvalHandler: async () => (approve ? { approved: true, approver: 'prop' } : { approved: false, reason: 'no' }),
        });
        // step 3 deletes a file that never exists: the real tool runs and fails, which is recorded too
        const session = await ape.openSession({ tenant: 'acme', ttlMs: 86_400_000 });
        const run = await ape.createRun(session);
        const steps = [
          { action: 'read_file', tool: 'fs.read', parameters: { path: join(root, 'notes.txt') } },
          { action: 'read_file', tool: 'fs.read', inputs: ['path'] },
          { action: 'list_directory', tool: 'fs.list', parameters: { path: `${root}/` } },
          { action: 'delete_file', tool: 'fs.delete', parameters: { path: join(root, 'never-exists.txt') } },
        ];
        let generation = 0;
        const plan = async () => {
          await run.setIntent(intentFor(root, { description: `generation ${generation++}` }));
          await run.approvePlan({ steps });
          run.start();
        };
        await plan();
        const issued: Issued[] = [];
        for (const op of ops) {
          const ranBefore = log.length;
          switch (op.op) {
            case 'authorize': {
              const auth = await run.authorize(op.step, op.step === 1 ? { inputs: { path: inputFor(op.variant) } } : {}).catch(() => undefined);
              if (auth) issued.push({ auth, exp: clock.now() + 60_000, used: false, revoked: false });
              break;
            }
            case 'execute': {
              const entry = issued[op.token % Math.max(issued.length, 1)];
              if (!entry) break;
              const presented = tamper(entry.auth, op.tamper);
              await run.execute(presented.token, presented.call).catch(() => undefined);
              const ran = log.length > ranBefore;
              // a tamper can be a no-op (e.g. 'action' on a step that already is the delete): compare what was presented
              const untouched = presented.token === entry.auth.token && canonicalJson(presented.call) === canonicalJson(entry.auth.call);
              const valid = untouched && !entry.used && !entry.revoked && clock.now() < entry.exp;
              expect(ran).toBe(valid);
              if (ran) {
                expect(canonicalJson(log.at(-1)?.params)).toBe(canonicalJson(entry.auth.call.params));
                entry.used = true;
              }
              break;
            }
            case 'double': {
              const entry = issued[op.token % Math.max(issued.length, 1)];
              if (!entry) break;
              await Promise.allSettled([run.execute(entry.auth.token, entry.auth.call), run.execute(entry.auth.token, entry.auth.call)]);
              const valid = !entry.used && !entry.revoked && clock.now() < entry.exp;
              expect(log.length - ranBefore).toBe(valid ? 1 : 0);
              if (valid) entry.used = true;
              break;
            }
            case 'executeStep':
              await run.executeStep(op.step, op.step === 1 ? { inputs: { path: inputFor(op.variant) } } : {}).catch(() => undefined);
              if (op.step === 1 && op.variant !== 'notes' && op.variant !== 'external') expect(log.length).toBe(ranBefore);
              if (op.step === 3 && !approve) expect(log.length).toBe(ranBefore);
              break;
            case 'advance':
              clock.advance(op.ms);
              break;
            case 'revokeAll':
              await ape.revokeTokens({ all: true });
              for (const e of issued) e.revoked = true;
              break;
            case 'replan':
              await plan();
              for (const e of issued) e.revoked = true;
              break;
            case 'approver':
              approve = op.approve;
              break;
          }
          expect(log.length - ranBefore).toBeLessThanOrEqual(1);
        }
        checkTrail(audit.events);
        expect(audit.events.filter((e) => e.type === 'execution.completed' || e.type === 'execution.failed')).toHaveLength(log.length);
      }),
      { numRuns: 150 },
    );
  });
});
