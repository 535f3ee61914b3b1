// End to end: intent -> plan -> execution with real file tools and a loopback HTTP server.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EscalationDeniedError,
  EscalationRequiredError,
  Labeled,
  PolicyDenyError,
  label,
  type ApprovalRequest,
} from '../../src/runtime/index.js';
import { intentFor, loopbackServer, makeRuntime, readThenFetch, startedRun, tempRoot } from './helpers.js';

describe('runtime flow end to end', () => {
  const { root, cleanup } = tempRoot();
  let server: Awaited<ReturnType<typeof loopbackServer>>;
  beforeAll(async () => {
    server = await loopbackServer();
    writeFileSync(`${root}/notes.txt`, 'first line\n');
  });
  afterAll(async () => {
    await server.close();
    cleanup();
  });

  it('reads, writes, fetches and lists through the gate, and records the session', async () => {
    const { ape, log, audit } = makeRuntime(root);
    const session = await ape.openSession({ tenant: 'acme' });
    const run = await ape.createRun(session);
    expect(run.state).toBe('INITIALIZED');
    await run.setIntent(intentFor(root));
    const plan = await run.approvePlan({
      steps: [
        { action: 'read_file', tool: 'fs.read', parameters: { path: `${root}/notes.txt` } },
        { action: 'write_file', tool: 'fs.write', parameters: { path: `${root}/out.txt`, content: 'summary' } },
        { action: 'http_get', tool: 'http.get', parameters: { url: `${server.url}/status` } },
        { action: 'list_directory', tool: 'fs.list', parameters: { path: `${root}/` } },
      ],
    });
    expect(plan.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    run.start();
    const read = await run.executeStep(0);
    expect(read.output).toBeInstanceOf(Labeled);
    expect(read.output.value).toBe('first line\n');
    expect(read.output.label).toBe('external');
    await run.executeStep(1);
    expect(readFileSync(`${root}/out.txt`, 'utf8')).toBe('summary');
    const fetched = await run.executeStep(2);
    expect(fetched.output.value).toEqual({ status: 200, body: 'hello /status' });
    expect(server.hits()).toBe(1);
    const listed = await run.executeStep(3);
    expect(listed.output.value).toEqual(['notes.txt', 'out.txt']);
    expect(log.map((l) => l.tool)).toEqual(['fs.read', 'fs.write', 'http.get', 'fs.list']);

    const summary = await ape.sessionSummary(session);
    expect(summary.actionsRun).toBe(4);
    expect(summary.counts).toEqual({ read_file: 1, write_file: 1, http_get: 1, list_directory: 1 });
    // low 2 + moderate 4 + moderate 4 + minimal 1
    expect(summary.cumulativeRisk).toBe(11);
    expect(summary.lastAction).toBe('list_directory');

    const types = audit.events.map((e) => e.type);
    for (const t of ['session.opened', 'state.changed', 'intent.set', 'plan.approved', 'decision', 'token.issued', 'token.consumed', 'execution.completed'] as const) {
      expect(types).toContain(t);
    }
    const byCall = audit.events.filter((e) => e.call === read.call).map((e) => e.type);
    expect(byCall).toEqual(['decision', 'token.issued', 'token.consumed', 'execution.completed']);
    await run.terminate();
    expect(run.state).toBe('TERMINATED');
  });

  it('feeds session facts to the policy: cumulative risk stops writes at the cap', async () => {
    const { ape, log } = makeRuntime(root);
    const run = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
    await run.setIntent(intentFor(root));
    await run.approvePlan({ steps: [{ action: 'write_file', tool: 'fs.write', parameters: { path: `${root}/w.txt`, content: 'x' } }] });
    run.start();
    // each write adds 4; the policy denies writes once the session is at 40 or more
    for (let i = 0; i < 10; i++) await run.executeStep(0);
    await expect(run.executeStep(0)).rejects.toBeInstanceOf(PolicyDenyError);
    expect(log.length).toBe(10);
  });

  it('runs an escalated delete only after the handler approves exactly that call', async () => {
    writeFileSync(`${root}/old.log`, 'x');
    const asked: ApprovalRequest[] = [];
    const { ape, log, audit } = makeRuntime(root, {
      approvalHandler: async (request) => {
        asked.push(request);
        return { approved: true, approver: 'alice' };
      },
    });
    const run = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
    await run.setIntent(intentFor(root));
    await run.approvePlan({ steps: [{ action: 'delete_file', tool: 'fs.delete', parameters: { path: `${root}/old.log` } }] });
    run.start();
    await run.executeStep(0);
    expect(existsSync(`${root}/old.log`)).toBe(false);
    expect(asked).toHaveLength(1);
    expect(asked[0]?.params).toEqual({ path: `${root}/old.log` });
    expect(Object.isFrozen(asked[0]?.params)).toBe(true);
    expect(log.map((l) => l.tool)).toEqual(['fs.delete']);
    const types = audit.events.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['approval.requested', 'approval.granted', 'approval.used']));
    expect(audit.events.filter((e) => e.type === 'state.changed').map((e) => e.data?.['to'])).toContain('ESCALATION_REQUIRED');
    expect(run.state).toBe('EXECUTING');
  });

  it('never reports success for an escalated step that was denied, timed out or had no handler', async () => {
    writeFileSync(`${root}/keep.log`, 'x');
    const plan = { steps: [{ action: 'delete_file', tool: 'fs.delete', parameters: { path: `${root}/keep.log` } }] };
    const cases = [
      { options: {}, error: EscalationRequiredError },
      { options: { approvalHandler: async () => ({ approved: false as const, reason: 'no' }) }, error: EscalationDeniedError },
      { options: { approvalHandler: () => new Promise<never>(() => {}), approvalTimeoutMs: 20 }, error: EscalationDeniedError },
      { options: { approvalHandler: async () => { throw new Error('hook down'); } }, error: EscalationDeniedError },
    ];
    for (const { options, error } of cases) {
      const { ape, log } = makeRuntime(root, options);
      const run = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
      await run.setIntent(intentFor(root));
      await run.approvePlan(plan);
      run.start();
      await expect(run.executeStep(0)).rejects.toBeInstanceOf(error);
      expect(log).toHaveLength(0);
      expect(existsSync(`${root}/keep.log`)).toBe(true);
      expect(run.state).toBe('EXECUTING');
    }
  });

  it('resolves an escalation out of band and runs it once with the approval id', async () => {
    writeFileSync(`${root}/later.log`, 'x');
    const { ape, log } = makeRuntime(root);
    const run = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
    await run.setIntent(intentFor(root));
    await run.approvePlan({ steps: [{ action: 'delete_file', tool: 'fs.delete', parameters: { path: `${root}/later.log` } }] });
    run.start();
    const pending = await run.executeStep(0).catch((e: unknown) => e);
    expect(pending).toBeInstanceOf(EscalationRequiredError);
    const approval = await ape.resolveEscalation((pending as EscalationRequiredError).requestId, { approved: true, approver: 'bob' });
    await run.executeStep(0, { approval });
    expect(existsSync(`${root}/later.log`)).toBe(false);
    expect(log).toHaveLength(1);
  });

  it('fills a run-time input with a user-labeled value, and refuses the same value when it came from a tool', async () => {
    writeFileSync(`${root}/link.txt`, `${server.url}/from-file`);
    const { ape, log } = makeRuntime(root);
    const run = await startedRun(ape, intentFor(root), readThenFetch(`${root}/link.txt`));
    const link = await run.executeStep(0);
    await expect(run.executeStep(1, { inputs: { url: link.output } })).rejects.toBeInstanceOf(PolicyDenyError);
    const hitsBefore = server.hits();
    await run.executeStep(1, { inputs: { url: label(`${server.url}/typed`, 'user') } });
    expect(server.hits()).toBe(hitsBefore + 1);
    expect(log.map((l) => l.tool)).toEqual(['fs.read', 'http.get']);
  });

  it('declassifies tool output only when an approver vouches for it', async () => {
    writeFileSync(`${root}/link2.txt`, `${server.url}/vouched`);
    const { ape } = makeRuntime(root, { approvalHandler: async (r) => (r.kind === 'declassify' ? { approved: true, approver: 'carol' } : { approved: false }) });
    const run = await startedRun(ape, intentFor(root), readThenFetch(`${root}/link2.txt`));
    const link = await run.executeStep(0);
    const vouched = await run.declassify(link.output as Labeled<string>, 'the user pasted this link');
    expect(vouched.label).toBe('user');
    const result = await run.executeStep(1, { inputs: { url: vouched } });
    expect((result.output.value as { body: string }).body).toBe('hello /vouched');
  });

  it('runs a tool registered as a trusted source with trusted output', async () => {
    const { ape } = makeRuntime(root);
    ape.registerTool({ name: 'config.read', action: 'read_file', trust: 'system', run: (p) => readFileSync(p['path'] as string, 'utf8') });
    const run = await ape.createRun(await ape.openSession({ tenant: 'acme' }));
    await run.setIntent(intentFor(root));
    await run.approvePlan({ steps: [{ action: 'read_file', tool: 'config.read', parameters: { path: `${root}/notes.txt` } }] });
    run.start();
    expect((await run.executeStep(0)).output.label).toBe('system');
  });
});
