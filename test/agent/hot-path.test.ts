// The guarded call's fast path (copied parameters built into its one-step plan, no second walk): the same audit trail as the generic path, and every refusal kept.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Ape } from '../../src/agent/index.js';
import { hashJson } from '../../src/compiler/hash.js';
import { ParameterValidationError } from '../../src/errors.js';
import { MemorySink, PolicyDenyError, SessionExpiredError, ToolExecutionError, type AuditEvent } from '../../src/runtime/index.js';
import { agentPolicy, closedAfterEach, workspace } from './helpers.js';

const { root, cleanup } = workspace();
afterAll(cleanup);
writeFileSync(join(root, 'notes.md'), '# notes');

const apes = closedAfterEach();

async function make(): Promise<{ ape: Ape; audit: MemorySink }> {
  const audit = new MemorySink();
  const ape = await Ape.fromPolicy(agentPolicy(root), { audit: [audit] });
  apes.push(ape);
  return { ape, audit };
}

/** An event without what differs between two runs (time, ids). */
function shape(e: AuditEvent): unknown {
  const data = { ...(e.data ?? {}) };
  for (const key of ['token', 'expires', 'from', 'to', 'operation']) if (key in data) data[key] = typeof data[key];
  return { type: e.type, intent: e.intent, plan: e.plan, step: e.step, action: e.action, tool: e.tool, data };
}

describe('guarded call fast path', () => {
  it('audits the same events with the same data (plan hash included) as the same one-step run through the generic path', async () => {
    const fast = await make();
    const read = fast.ape.guard<{ path: string }, string>('read_file', (p) => readFileSync(p.path, 'utf8'), { tool: 'fs.read' });
    expect(await read({ path: join(root, 'notes.md') })).toBe('# notes');

    const slow = await make();
    const runtime = slow.ape.runtime;
    runtime.registerTool({ name: 'fs.read', action: 'read_file', run: (p) => readFileSync(p['path'] as string, 'utf8') });
    const session = await slow.ape.defaultSession();
    const run = await runtime.createRun(session);
    const intent = await run.setIntent({ allowed_actions: ['read_file'], description: 'guarded call of read_file' });
    // A fresh caller object: walked and parsed into its canonical copy, the generic way.
    const plan = await run.approvePlan({ steps: [{ action: 'read_file', tool: 'fs.read', parameters: { path: join(root, 'notes.md') } }] }, { decideAtExecution: true });
    run.start();
    expect((await run.executeStep(0)).output.value).toBe('# notes');
    await run.terminate();

    const events = (sink: MemorySink) => sink.events.filter((e) => e.run !== undefined).map(shape);
    expect(events(fast.audit)).toEqual(events(slow.audit));
    expect(fast.audit.events.filter((e) => e.run !== undefined).map((e) => e.type)).toEqual(
      expect.arrayContaining(['intent.set', 'plan.approved', 'state.changed', 'decision', 'token.issued', 'token.consumed', 'execution.completed']),
    );
    const approved = fast.audit.events.find((e) => e.type === 'plan.approved');
    expect(approved?.data?.['hash']).toBe(plan.hash);
    expect(plan.hash).toBe(hashJson({ intent: intent.version, steps: plan.steps } as never));
    const decision = fast.audit.events.find((e) => e.type === 'decision');
    expect(decision?.data).toMatchObject({ decision: 'allow', rule: 'read-root', params: { path: join(root, 'notes.md') } });
  });

  it('refuses proxy and getter parameters before anything runs, and runs the copy taken at the call when the caller changes its object', async () => {
    const { ape, audit } = await make();
    const seen: unknown[] = [];
    const read = ape.guard<{ path: string }, string>('read_file', (p) => {
      seen.push(p);
      return readFileSync(p.path, 'utf8');
    });
    await expect(read(new Proxy({ path: join(root, 'notes.md') }, {}))).rejects.toBeInstanceOf(ParameterValidationError);
    await expect(read({ get path() { return join(root, 'notes.md'); } })).rejects.toBeInstanceOf(ParameterValidationError);
    expect(seen).toEqual([]);
    const params = { path: join(root, 'notes.md') };
    const pending = read(params);
    params.path = join(root, 'keys.secret');
    expect(await pending).toBe('# notes');
    expect(seen).toEqual([{ path: join(root, 'notes.md') }]);
    expect(Object.isFrozen(seen[0])).toBe(true);
    expect(audit.events.filter((e) => e.type === 'decision').map((e) => e.data?.['params'])).toEqual([{ path: join(root, 'notes.md') }]);
  });

  it('a denied call never runs, and the parameters a tool received decide nothing when passed on: they are decided again', async () => {
    const { ape, audit } = await make();
    const runs: string[] = [];
    const read = ape.guard<{ path: string }, string>('read_file', (p) => {
      runs.push(p.path);
      return readFileSync(p.path, 'utf8');
    });
    await expect(read({ path: join(root, 'keys.secret') })).rejects.toBeInstanceOf(PolicyDenyError);
    expect(runs).toEqual([]);
    // A tool handing its own (frozen, already copied) parameters to a denied action is refused.
    const write = ape.guard<{ path: string; content: string }, number>('write_file', () => {
      runs.push('write');
      return 0;
    });
    const relay = ape.guard<{ path: string }, unknown>('read_file', (p) => write({ ...p, content: 'x' } as never), { tool: 'relay' });
    const outside = ape.guard<{ path: string }, unknown>('list_directory', (p) => read(p as never), { tool: 'lister' });
    // Listing the folder is allowed; the read of the secret the lister passes on is refused inside it.
    const error = await outside({ path: join(root, 'keys.secret') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ToolExecutionError);
    expect((error as ToolExecutionError).cause).toBeInstanceOf(PolicyDenyError);
    expect(await relay({ path: join(root, 'notes.md') })).toBe(0);
    expect(runs).toEqual(['write']);
    const denied = audit.events.filter((e) => e.type === 'decision' && e.data?.['decision'] === 'deny');
    expect(denied.length).toBeGreaterThanOrEqual(1);
  });

  it('the default session taken without waiting is still checked: once revoked, calls fail and nothing runs', async () => {
    const { ape } = await make();
    const runs: string[] = [];
    const read = ape.guard<{ path: string }, string>('read_file', (p) => {
      runs.push(p.path);
      return readFileSync(p.path, 'utf8');
    });
    expect(await read({ path: join(root, 'notes.md') })).toBe('# notes');
    await ape.runtime.revokeSession(await ape.defaultSession());
    await expect(read({ path: join(root, 'notes.md') })).rejects.toBeInstanceOf(SessionExpiredError);
    expect(runs).toEqual([join(root, 'notes.md')]);
  });

  it('a tool gets its parameters in canonical key order, frozen, whatever order the caller wrote', async () => {
    const { ape } = await make();
    let received: object | undefined;
    const write = ape.guard<{ path: string; content: string }, number>('write_file', (p) => {
      received = p;
      return p.content.length;
    });
    expect(await write({ path: join(root, 'out.md'), content: 'abc' })).toBe(3);
    expect(Object.keys(received ?? {})).toEqual(['content', 'path']);
    expect(Object.isFrozen(received)).toBe(true);
  });
});
