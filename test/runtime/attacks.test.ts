// The attack suite: one test per attack on the runtime; each must fail to get through.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferIO } from '../../src/cli/io.js';
import { compilePolicySource } from '../../src/compiler/compile.js';
import { NativeEvaluator } from '../../src/evaluator.js';
import { runCli } from '../../src/cli/program.js';
import {
  ApeRuntime,
  ApprovalError,
  EscalationRequiredError,
  JsonlSink,
  PlanValidationError,
  PolicyDenyError,
  ProvenanceError,
  RateLimitExceededError,
  TenantMismatchError,
  TokenInvalidError,
  TokenMismatchError,
  TokenReplayError,
  TokenSigner,
  label,
  type Run,
} from '../../src/runtime/index.js';
import { intentFor, loopbackServer, makeRuntime, readThenFetch, startedRun, tempRoot } from './helpers.js';

const { root, cleanup } = tempRoot();
let server: Awaited<ReturnType<typeof loopbackServer>>;
beforeAll(async () => {
  server = await loopbackServer();
  writeFileSync(join(root, 'notes.txt'), 'notes');
  writeFileSync(join(root, 'victim.txt'), 'precious');
});
afterAll(async () => {
  await server.close();
  cleanup();
});

const readStep = () => ({ action: 'read_file', tool: 'fs.read', parameters: { path: join(root, 'notes.txt') } });
const deleteStep = () => ({ action: 'delete_file', tool: 'fs.delete', parameters: { path: join(root, 'victim.txt') } });

function executing(ape: ApeRuntime, steps: unknown[], tenant = 'acme', intent: unknown = intentFor(root)): Promise<Run> {
  return startedRun(ape, intent, steps, ape.openSession({ tenant }));
}

function editClaims(token: string, edit: (claims: Record<string, unknown>) => void): string {
  const [prefix, body, mac] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
  edit(claims);
  return `${prefix}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${mac}`;
}

describe('attack suite', () => {
  it('token replay: a used token is refused the second time', async () => {
    const { ape, log } = makeRuntime(root);
    const run = await executing(ape, [readStep()]);
    const auth = await run.authorize(0);
    await run.execute(auth.token, auth.call);
    await expect(run.execute(auth.token, auth.call)).rejects.toBeInstanceOf(TokenReplayError);
    expect(log).toHaveLength(1);
  });

  it('forged token: one signed with another key, or made up, is refused', async () => {
    const { ape, log } = makeRuntime(root);
    const run = await executing(ape, [readStep()]);
    const auth = await run.authorize(0);
    const claims = JSON.parse(Buffer.from(auth.token.split('.')[1] as string, 'base64url').toString('utf8'));
    const forged = new TokenSigner('k'.repeat(32)).sign({ ...claims, id: TokenSigner.newId() });
    await expect(run.execute(forged, auth.call)).rejects.toMatchObject({ reason: 'signature' });
    await expect(run.execute('ape1.e30.AAAA', auth.call)).rejects.toBeInstanceOf(TokenInvalidError);
    await expect(run.execute('not a token', auth.call)).rejects.toMatchObject({ reason: 'malformed' });
    expect(log).toHaveLength(0);
  });

  it('edited token: changing any bound claim breaks the signature', async () => {
    const { ape, log } = makeRuntime(root);
    const run = await executing(ape, [readStep(), deleteStep()]);
    const auth = await run.authorize(0);
    const deleteCall = { step: 1, action: 'delete_file', tool: 'fs.delete', params: { path: join(root, 'victim.txt') } };
    const edited = editClaims(auth.token, (c) => Object.assign(c, { step: 1, action: 'delete_file', tool: 'fs.delete' }));
    await expect(run.execute(edited, deleteCall)).rejects.toMatchObject({ code: 'APE_TOKEN_INVALID', reason: 'signature' });
    const longer = editClaims(auth.token, (c) => (c['exp'] = Number(c['exp']) + 3_600_000));
    await expect(run.execute(longer, auth.call)).rejects.toMatchObject({ reason: 'signature' });
    expect(log).toHaveLength(0);
    expect(existsSync(join(root, 'victim.txt'))).toBe(true);
  });

  it('a token for read_file cannot run delete_file', async () => {
    const { ape, log } = makeRuntime(root);
    const run = await executing(ape, [readStep(), deleteStep()]);
    const auth = await run.authorize(0);
    await expect(run.execute(auth.token, { step: 1, action: 'delete_file', tool: 'fs.delete', params: { path: join(root, 'victim.txt') } })).rejects.toBeInstanceOf(TokenMismatchError);
    await expect(run.execute(auth.token, { step: 0, action: 'delete_file', tool: 'fs.delete', params: { path: join(root, 'victim.txt') } })).rejects.toBeInstanceOf(TokenMismatchError);
    await expect(run.execute(auth.token, { step: 0, action: 'read_file', tool: 'fs.delete', params: { path: join(root, 'notes.txt') } })).rejects.toBeInstanceOf(TokenMismatchError);
    expect(log).toHaveLength(0);
    expect(existsSync(join(root, 'victim.txt'))).toBe(true);
    // the token was never consumed by those attempts: the real call still works once
    await run.execute(auth.token, auth.call);
    expect(log).toHaveLength(1);
  });

  it('a token for read_file cannot read other parameters', async () => {
    writeFileSync(join(root, 'other.txt'), 'other');
    const { ape, log } = makeRuntime(root);
    const run = await executing(ape, [readStep()]);
    const auth = await run.authorize(0);
    for (const params of [{ path: join(root, 'other.txt') }, { path: '/etc/passwd' }, { path: join(root, 'notes.txt'), encoding: 'latin1' }]) {
      await expect(run.execute(auth.token, { ...auth.call, params })).rejects.toMatchObject({ code: 'APE_TOKEN_MISMATCH', field: 'params' });
    }
    expect(log).toHaveLength(0);
  });

  it('a plan step whose tool differs from its action is rejected (read_file served by the delete tool)', async () => {
    const { ape, log } = makeRuntime(root);
    const run = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
    await run.setIntent(intentFor(root));
    await expect(run.approvePlan({ steps: [{ action: 'read_file', tool: 'fs.delete', parameters: { path: join(root, 'victim.txt') } }] })).rejects.toMatchObject({ code: 'APE_PLAN_INVALID', reason: 'tool' });
    await expect(run.approvePlan({ steps: [{ action: 'read_file', tool: 'no.such.tool', parameters: { path: join(root, 'notes.txt') } }] })).rejects.toBeInstanceOf(PlanValidationError);
    expect(log).toHaveLength(0);
    expect(existsSync(join(root, 'victim.txt'))).toBe(true);
  });

  it('plan mutation after approval changes nothing that runs', async () => {
    const { ape, log } = makeRuntime(root);
    const run = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
    await run.setIntent(intentFor(root));
    const input = { steps: [readStep()] };
    const plan = await run.approvePlan(input);
    run.start();
    input.steps[0] = deleteStep();
    (input.steps[0] as { parameters: { path: string } }).parameters.path = join(root, 'victim.txt');
    expect(() => {
      (plan.steps[0] as { action: string }).action = 'delete_file';
    }).toThrow(TypeError);
    expect(() => {
      (plan.steps[0]?.parameters as { path: string }).path = join(root, 'victim.txt');
    }).toThrow(TypeError);
    const result = await run.executeStep(0);
    expect(result.output.value).toBe('notes');
    expect(log.map((l) => l.tool)).toEqual(['fs.read']);
    expect(existsSync(join(root, 'victim.txt'))).toBe(true);
  });

  it('intent changed mid-execution revokes every outstanding token', async () => {
    const { ape, log } = makeRuntime(root);
    const run = await executing(ape, [readStep()]);
    const auth = await run.authorize(0);
    await run.setIntent(intentFor(root, { description: 'something else' }));
    await expect(run.execute(auth.token, auth.call)).rejects.toMatchObject({ code: 'APE_RUNTIME_STATE' });
    await run.approvePlan({ steps: [readStep()] });
    run.start();
    await expect(run.execute(auth.token, auth.call)).rejects.toSatisfy((e) => e instanceof TokenMismatchError || e instanceof TokenInvalidError);
    const revoked = editClaims(auth.token, () => {});
    expect(revoked).toBe(auth.token);
    expect(log).toHaveLength(0);
  });

  it('cross-tenant use of a token, plan, intent or session is refused', async () => {
    const { ape, log } = makeRuntime(root);
    const runA = await executing(ape, [readStep()], 'tenant-a');
    const runB = await executing(ape, [readStep()], 'tenant-b');
    const auth = await runA.authorize(0);
    await expect(runB.execute(auth.token, auth.call)).rejects.toBeInstanceOf(TenantMismatchError);
    const freshB = await ape.createRun(await ape.openSession({ tenant: 'tenant-b' }));
    await expect(freshB.setIntent(runA.intent)).rejects.toBeInstanceOf(TenantMismatchError);
    await freshB.setIntent(intentFor(root));
    await expect(freshB.approvePlan(runA.plan)).rejects.toBeInstanceOf(TenantMismatchError);
    await expect(ape.createRun(runA.session, 'tenant-b')).rejects.toBeInstanceOf(TenantMismatchError);
    await expect(ape.createRun({ id: runA.session.id, tenant: 'tenant-b' })).rejects.toBeInstanceOf(TenantMismatchError);
    expect(log).toHaveLength(0);
  });

  it('concurrent double use: of two simultaneous uses of one token exactly one runs', async () => {
    const { ape, log } = makeRuntime(root);
    const run = await executing(ape, [readStep()]);
    const auth = await run.authorize(0);
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => run.execute(auth.token, auth.call)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).toHaveLength(9);
    for (const r of rejected) expect(r.reason).toBeInstanceOf(TokenReplayError);
    expect(log).toHaveLength(1);
  });

  it('concurrent rate-limit burst: 50 simultaneous calls against a limit of 5 let exactly 5 through', async () => {
    const { ape, log } = makeRuntime(root, { rateLimits: { per_action: { read_file: { limit: 5, window_seconds: 60 } } } });
    const run = await executing(ape, [readStep()]);
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => run.executeStep(0)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    const first = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(first?.reason).toBeInstanceOf(RateLimitExceededError);
    expect((first?.reason as RateLimitExceededError).limit).toBe('action:read_file');
    expect((first?.reason as RateLimitExceededError).resetAt).toBeGreaterThan(Date.now() - 1);
    expect(log).toHaveLength(5);
  });

  it('rotating hosts does not escape a per-target glob limit (counted per pattern)', async () => {
    const fetched: string[] = [];
    // a policy allowing any http_get, with the limit declared in its YAML
    const open = new ApeRuntime({
      evaluator: new NativeEvaluator(compilePolicySource('name: open\nrules:\n  - { action: http_get, decision: allow }\nrate_limits:\n  per_target:\n    "*.example.test": { limit: 3, window_seconds: 60 }\n')),
    });
    open.registerTool({ name: 'http.echo', action: 'http_get', run: (p) => fetched.push(p['url'] as string) });
    const r = await open.createRun(await open.openSession({ tenant: 'acme' }));
    await r.setIntent({ allowed_actions: ['http_get'] });
    await r.approvePlan({ steps: [{ action: 'http_get', tool: 'http.echo', inputs: ['url'] }] });
    r.start();
    const outcomes: string[] = [];
    for (let i = 0; i < 8; i++) {
      const url = label(`https://host${i}.example.test/x`, 'user');
      outcomes.push(await r.executeStep(0, { inputs: { url } }).then(() => 'ok', (e: { code: string }) => e.code));
    }
    expect(outcomes).toEqual(['ok', 'ok', 'ok', 'APE_RATE_LIMITED', 'APE_RATE_LIMITED', 'APE_RATE_LIMITED', 'APE_RATE_LIMITED', 'APE_RATE_LIMITED']);
    // another host outside the pattern is not counted against it
    await r.executeStep(0, { inputs: { url: label('https://other.test/', 'user') } });
    expect(fetched).toHaveLength(4);
  });

  it('escalation without a handler: the step does not run and the caller gets a typed error', async () => {
    const { ape, log } = makeRuntime(root);
    const run = await executing(ape, [deleteStep()]);
    const error = await run.executeStep(0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EscalationRequiredError);
    expect((error as EscalationRequiredError).requestId).toMatch(/^apr_/);
    expect(log).toHaveLength(0);
    expect(existsSync(join(root, 'victim.txt'))).toBe(true);
  });

  it('approval replay: an approval runs its call once, and only that call', async () => {
    writeFileSync(join(root, 'a.log'), 'a');
    writeFileSync(join(root, 'b.log'), 'b');
    const { ape, log } = makeRuntime(root);
    const run = await executing(ape, [
      { action: 'delete_file', tool: 'fs.delete', parameters: { path: join(root, 'a.log') } },
      { action: 'delete_file', tool: 'fs.delete', parameters: { path: join(root, 'b.log') } },
    ]);
    const pending = (await run.executeStep(0).catch((e: unknown) => e)) as EscalationRequiredError;
    const approval = await ape.resolveEscalation(pending.requestId, { approved: true, approver: 'alice' });
    // an approval for step 0 does not approve step 1
    await expect(run.executeStep(1, { approval })).rejects.toMatchObject({ code: 'APE_APPROVAL_INVALID', reason: 'mismatch' });
    await run.executeStep(0, { approval });
    await expect(run.executeStep(0, { approval })).rejects.toMatchObject({ code: 'APE_APPROVAL_REPLAY' });
    await expect(ape.resolveEscalation(pending.requestId, { approved: true, approver: 'alice' })).rejects.toBeInstanceOf(ApprovalError);
    expect(log.map((l) => l.params)).toEqual([{ path: join(root, 'a.log') }]);
    expect(existsSync(join(root, 'b.log'))).toBe(true);
  });

  it('approver edit to a forbidden call is decided again and refused', async () => {
    writeFileSync(join(root, 'x.secret'), 's');
    for (const edit of [{ path: '/etc/passwd' }, { path: join(root, 'x.secret') }]) {
      const { ape, log } = makeRuntime(root, { approvalHandler: async () => ({ approved: true, approver: 'mallory', params: edit }) });
      const run = await executing(ape, [deleteStep()]);
      await expect(run.executeStep(0)).rejects.toBeInstanceOf(PolicyDenyError);
      expect(log).toHaveLength(0);
    }
    expect(existsSync(join(root, 'x.secret'))).toBe(true);
    expect(existsSync(join(root, 'victim.txt'))).toBe(true);
  });

  it('approver edits carrying untrusted data are refused', async () => {
    const { ape, log } = makeRuntime(root, { approvalHandler: async () => ({ approved: true, approver: 'bot', params: { path: label(join(root, 'notes.txt'), 'external') } as never }) });
    const run = await executing(ape, [deleteStep()]);
    await expect(run.executeStep(0)).rejects.toBeInstanceOf(ProvenanceError);
    expect(log).toHaveLength(0);
  });

  it('untrusted tool output flowing into a provenance-guarded parameter is denied', async () => {
    writeFileSync(join(root, 'inject.txt'), `${server.url}/exfiltrate?data=secret`);
    const { ape, log, audit } = makeRuntime(root);
    const run = await executing(ape, readThenFetch(join(root, 'inject.txt')));
    const page = await run.executeStep(0);
    const hits = server.hits();
    await expect(run.executeStep(1, { inputs: { url: page.output } })).rejects.toBeInstanceOf(PolicyDenyError);
    // unwrapping the value does not launder it: plain run-time inputs count as untrusted
    await expect(run.executeStep(1, { inputs: { url: page.output.value } })).rejects.toBeInstanceOf(PolicyDenyError);
    // nor does relabelling a derived value
    await expect(run.executeStep(1, { inputs: { url: page.output.map((v) => String(v).trim()) } })).rejects.toBeInstanceOf(PolicyDenyError);
    expect(server.hits()).toBe(hits);
    expect(log.map((l) => l.tool)).toEqual(['fs.read']);
    expect(audit.events.filter((e) => e.type === 'decision' && e.data?.['decision'] === 'deny').length).toBeGreaterThanOrEqual(3);
  });

  it('untrusted data cannot set an intent or a plan', async () => {
    const { ape } = makeRuntime(root);
    const run = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
    await expect(run.setIntent(label(intentFor(root), 'external'))).rejects.toBeInstanceOf(ProvenanceError);
    await expect(run.setIntent(intentFor(root), { source: 'external' })).rejects.toBeInstanceOf(ProvenanceError);
    await expect(run.setIntent({ ...intentFor(root), allowed_actions: [label('delete_file', 'external')] })).rejects.toBeInstanceOf(ProvenanceError);
    await run.setIntent(intentFor(root));
    await expect(run.approvePlan({ steps: [{ ...readStep(), parameters: { path: label(join(root, 'notes.txt'), 'external') } }] })).rejects.toBeInstanceOf(ProvenanceError);
    await expect(run.approvePlan(label({ steps: [readStep()] }, 'external'))).rejects.toBeInstanceOf(ProvenanceError);
    expect(run.state).toBe('INTENT_SET');
  });

  it('audit log tampering: a deleted, edited or reordered line is detected by ape audit verify', async () => {
    const file = join(root, 'audit.jsonl');
    const sink = new JsonlSink(file);
    const { ape } = makeRuntime(root, { audit: [sink] });
    const run = await executing(ape, [readStep()]);
    await run.executeStep(0);
    await run.executeStep(0);
    const intact = readFileSync(file, 'utf8');
    const lines = intact.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(8);
    const verify = async (text: string, ...extra: string[]) => {
      writeFileSync(file, text);
      const io = bufferIO();
      return { code: await runCli(['audit', 'verify', file, ...extra], io), io };
    };
    expect((await verify(intact)).code).toBe(0);
    expect((await verify(intact, '--head', sink.head)).code).toBe(0);
    const deleted = lines.filter((_, i) => i !== 4);
    expect((await verify(`${deleted.join('\n')}\n`)).code).toBe(2);
    const edited = [...lines];
    const line = JSON.parse(edited[5] as string) as { ts: number };
    line.ts += 1;
    edited[5] = JSON.stringify(line);
    const editedResult = await verify(`${edited.join('\n')}\n`);
    expect(editedResult.code).toBe(2);
    expect(editedResult.io.stderr).toContain(':6: tampered');
    const swapped = [...lines];
    [swapped[2], swapped[3]] = [swapped[3] as string, swapped[2] as string];
    expect((await verify(`${swapped.join('\n')}\n`)).code).toBe(2);
    expect((await verify(`${lines.slice(0, -1).join('\n')}\n`, '--head', sink.head)).code).toBe(2);
    const missing = bufferIO();
    expect(await runCli(['audit', 'verify', join(root, 'nope.jsonl')], missing)).toBe(1);
    expect(missing.stderr).toContain('no such file');
  });
});
