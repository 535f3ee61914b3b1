// LangChain.js / LangGraph.js: createAgent's own graph with @langchain/core/testing's fakeModel emitting tool calls; real file tools guarded by apeMiddleware / apeLangChainTools.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AIMessage, ToolMessage, type BaseMessage } from '@langchain/core/messages';
import { fakeModel } from '@langchain/core/testing';
import { tool } from '@langchain/core/tools';
import { Command, MemorySaver } from '@langchain/langgraph';
import { createAgent, humanInTheLoopMiddleware } from 'langchain';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ApeOptions } from '../../src/agent/index.js';
import { apeLangChainTools, apeMiddleware, type ApeInterrupt, type IntegrationOptions } from '../../src/integrations/langchain/index.js';
import { PolicyDenyError } from '../../src/runtime/index.js';
import { fakeClock, fileOps, makeApe, workspace } from './helpers.js';
import { closedAfterEach } from '../agent/helpers.js';

const { root, cleanup } = workspace();
afterAll(cleanup);
const apes = closedAfterEach();

type Turn = { call: [id: string, tool: string, args: Record<string, unknown>] } | { text: string };
function scripted(turns: Turn[]) {
  const model = fakeModel();
  for (const t of turns) {
    if ('call' in t) model.respondWithTools([{ id: t.call[0], name: t.call[1], args: t.call[2] }]);
    else model.respond(new AIMessage(t.text));
  }
  return model;
}

function fileTools(runs: string[]) {
  const ops = fileOps(runs);
  const path = z.object({ path: z.string() });
  return [
    tool(ops.read, { name: 'read_file', description: 'read a file', schema: path }),
    tool(ops.write, { name: 'write_file', description: 'write a file', schema: z.object({ path: z.string(), content: z.string() }) }),
    tool(ops.remove, { name: 'delete_file', description: 'delete a file', schema: path }),
  ];
}

let thread = 0;
async function setup(turns: Turn[], options: ApeOptions = {}, integration: IntegrationOptions = {}, style: 'middleware' | 'tools' | 'hitl' = 'middleware') {
  const { ape, audit } = await makeApe(root, options);
  apes.push(ape);
  const runs: string[] = [];
  const model = scripted(turns);
  const raw = fileTools(runs);
  // LangChain's HITL types do not compile under exactOptionalPropertyTypes (its zod v3 interop): cast.
  const hitl = humanInTheLoopMiddleware({ interruptOn: { write_file: { allowedDecisions: ['approve', 'edit', 'reject'] } } } as never) as unknown as ReturnType<typeof apeMiddleware>;
  const agent = createAgent({
    model,
    tools: style === 'tools' ? apeLangChainTools(ape, raw, integration) : raw,
    middleware: style === 'middleware' ? [apeMiddleware(ape, integration)] : style === 'hitl' ? [hitl, apeMiddleware(ape, integration)] : [],
    checkpointer: new MemorySaver(),
  });
  const config = { configurable: { thread_id: `t${++thread}` } };
  const start = (text: string) => agent.invoke({ messages: [{ role: 'user', content: text }] }, config);
  const resume = (value: unknown) => agent.invoke(new Command({ resume: value }), config);
  return { ape, audit, runs, model, agent, config, start, resume };
}

function toolMessages(messages: BaseMessage[]): ToolMessage[] {
  return messages.filter((m): m is ToolMessage => ToolMessage.isInstance(m));
}

function interruptOf(result: unknown): ApeInterrupt | undefined {
  const list = (result as { __interrupt__?: Array<{ value: unknown }> }).__interrupt__;
  return list?.[0]?.value as ApeInterrupt | undefined;
}

describe.each(['middleware', 'tools'] as const)('langchain (%s) in createAgent', (style) => {
  it('an allowed call runs and its output goes back to the model', async () => {
    writeFileSync(join(root, 'notes.md'), 'hello');
    const { runs, start, model, audit } = await setup([{ call: ['c1', 'read_file', { path: join(root, 'notes.md') }] }, { text: 'read it' }], {}, {}, style);
    const result = await start('read notes');
    expect(result.messages.at(-1)?.content).toBe('read it');
    expect(runs).toEqual([`read ${join(root, 'notes.md')}`]);
    const seen = toolMessages(model.calls.at(-1)?.messages ?? []);
    expect(seen.map((m) => m.content)).toEqual(['hello']);
    expect(audit.events.find((e) => e.type === 'execution.completed')?.data).toMatchObject({ trust: 'external' });
  });

  it('a denied call never runs: an error ToolMessage with the reason', async () => {
    writeFileSync(join(root, 'k.secret'), 'k');
    const { runs, start, model } = await setup([{ call: ['c1', 'read_file', { path: join(root, 'k.secret') }] }, { text: 'ok' }], {}, {}, style);
    const result = await start('read');
    expect(runs).toEqual([]);
    expect((result as { __interrupt__?: unknown }).__interrupt__).toBeUndefined();
    const [message] = toolMessages(model.calls.at(-1)?.messages ?? []);
    expect(message?.status).toBe('error');
    expect(String(message?.content)).toContain("is denied by rule 'no-secrets'");
  });

  it('an escalation interrupts with the exact call; approve resumes and runs it, reject never runs it', async () => {
    const file = join(root, 'old.tmp');
    writeFileSync(file, 'x');
    const ok = await setup([{ call: ['c1', 'delete_file', { path: file }] }, { text: 'deleted' }], {}, {}, style);
    const paused = await ok.start('delete old.tmp');
    expect(interruptOf(paused)).toMatchObject({ type: 'ape_approval', tool: 'delete_file', args: { path: file }, toolCallId: 'c1', rule: 'delete-escalates' });
    expect(ok.runs).toEqual([]);
    const done = await ok.resume({ type: 'approve' });
    expect(done.messages.at(-1)?.content).toBe('deleted');
    expect(ok.runs).toEqual([`delete ${file}`]);
    expect(existsSync(file)).toBe(false);

    writeFileSync(file, 'x');
    const no = await setup([{ call: ['c2', 'delete_file', { path: file }] }, { text: 'kept' }], {}, {}, style);
    await no.start('delete');
    await no.resume({ type: 'reject', message: 'keep it' });
    expect(no.runs).toEqual([]);
    expect(existsSync(file)).toBe(true);
    expect(JSON.stringify(toolMessages(no.model.calls.at(-1)?.messages ?? []).map((m) => m.content))).toContain('keep it');
  });

  it('an edited approval is decided again: an edit into a denied call never runs, an allowed edit runs as edited', async () => {
    const file = join(root, 'a.tmp');
    const secret = join(root, 'x.secret');
    const other = join(root, 'b.tmp');
    for (const f of [file, secret, other]) writeFileSync(f, 'x');
    const bad = await setup([{ call: ['c1', 'delete_file', { path: file }] }, { text: 'done' }], {}, {}, style);
    await bad.start('delete');
    await bad.resume({ type: 'edit', args: { path: secret } });
    expect(bad.runs).toEqual([]);
    expect(existsSync(secret)).toBe(true);
    expect(String(toolMessages(bad.model.calls.at(-1)?.messages ?? [])[0]?.content)).toContain('no-secrets');

    const good = await setup([{ call: ['c2', 'delete_file', { path: file }] }, { text: 'done' }], {}, {}, style);
    await good.start('delete');
    await good.resume({ type: 'edit', args: { path: other } });
    expect(good.runs).toEqual([`delete ${other}`]);
    expect(existsSync(file)).toBe(true);
  });

  it('tampered arguments in the checkpoint are refused when the approval resumes', async () => {
    const file = join(root, 't1.tmp');
    const other = join(root, 't2.tmp');
    writeFileSync(file, 'x');
    writeFileSync(other, 'y');
    const s = await setup([{ call: ['c1', 'delete_file', { path: file }] }, { text: 'done' }], {}, {}, style);
    await s.start('delete');
    // Someone with access to the checkpoint rewrites the pending tool call before the approval.
    const graph = (s.agent as unknown as { graph: { getState: (c: unknown) => Promise<{ values: { messages: BaseMessage[] } }>; updateState: (c: unknown, v: unknown) => Promise<unknown> } }).graph;
    const last = (await graph.getState(s.config)).values.messages.at(-1) as AIMessage;
    await graph.updateState(s.config, { messages: [new AIMessage({ id: last.id ?? '', content: last.content, tool_calls: [{ id: 'c1', name: 'delete_file', args: { path: other } }] })] });
    await s.resume({ type: 'approve' });
    expect(s.runs).toEqual([]);
    expect(existsSync(other)).toBe(true);
    expect(String(toolMessages(s.model.calls.at(-1)?.messages ?? [])[0]?.content)).toContain('the approval is bound to other arguments');
  });

  it('an approval expires', async () => {
    const file = join(root, 'late.tmp');
    writeFileSync(file, 'x');
    const clock = fakeClock();
    const s = await setup([{ call: ['c1', 'delete_file', { path: file }] }, { text: 'done' }], { now: clock.now }, { approvalTtlMs: 60_000 }, style);
    const paused = await s.start('delete');
    expect(interruptOf(paused)?.expiresAt).toBe(clock.now() + 60_000);
    clock.advance(61_000);
    await s.resume({ type: 'approve' });
    expect(s.runs).toEqual([]);
    expect(String(toolMessages(s.model.calls.at(-1)?.messages ?? [])[0]?.content)).toContain('the approval expired');
  });

  it('observe mode runs what enforce would refuse and audits it', async () => {
    writeFileSync(join(root, 'o.secret'), 's');
    const { runs, start, audit } = await setup([{ call: ['c1', 'read_file', { path: join(root, 'o.secret') }] }, { text: 'ok' }], { mode: 'observe' }, {}, style);
    await start('read');
    expect(runs).toEqual([`read ${join(root, 'o.secret')}`]);
    expect(audit.events.find((e) => e.type === 'gate.observed' && e.data?.['stage'] !== 'plan')?.data?.['would_block']).toMatchObject({ decision: 'deny', rule: 'no-secrets' });
  });
});

describe('langchain: with LangChain human-in-the-loop middleware', () => {
  it("an approver who turns write_file into delete_file('/') is decided again and refused", async () => {
    const s = await setup([{ call: ['c1', 'write_file', { path: join(root, 'w.md'), content: 'hi' }] }, { text: 'done' }], {}, {}, 'hitl');
    const paused = await s.start('write');
    expect((paused as { __interrupt__?: unknown[] }).__interrupt__).toHaveLength(1);
    await s.resume({ decisions: [{ type: 'edit', editedAction: { name: 'delete_file', args: { path: '/' } } }] });
    expect(s.runs).toEqual([]);
    const [message] = toolMessages(s.model.calls.at(-1)?.messages ?? []);
    expect(message?.status).toBe('error');
    expect(String(message?.content)).toContain("action 'delete_file' is denied by default");
  });

  it('onDeny: throw raises the typed error out of the graph (as the cause of MiddlewareError)', async () => {
    const s = await setup([{ call: ['c1', 'read_file', { path: '/etc/passwd' }] }, { text: 'ok' }], {}, { onDeny: 'throw' });
    const error = await s.start('read').then(() => undefined, (e: unknown) => e);
    // createAgent wraps a middleware's error in its MiddlewareError; the typed error is the cause.
    expect((error as { cause?: unknown }).cause).toBeInstanceOf(PolicyDenyError);
    expect(s.runs).toEqual([]);
  });
});
