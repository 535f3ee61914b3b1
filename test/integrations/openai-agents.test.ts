// OpenAI Agents JS: the SDK's run() loop with its ScriptedModel emitting function calls; real file tools guarded by apeTool / apeAgentTools.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, run, RunState, setTracingDisabled, tool, type Tool } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ApeOptions } from '../../src/agent/index.js';
import { apeAgentTools, apeTool, IntegrationConfigError, type IntegrationOptions, type PendingCall } from '../../src/integrations/openai-agents/index.js';
import { MemorySingleUseStore, QuotaExhaustedError } from '../../src/runtime/index.js';
import { fakeClock, fileOps, makeApe, workspace } from './helpers.js';
import { closedAfterEach } from '../agent/helpers.js';

const { root, cleanup } = workspace();
beforeAll(() => setTracingDisabled(true));
afterAll(cleanup);
const apes = closedAfterEach();

type Turn = { call: [id: string, tool: string, input: Record<string, unknown>] } | { text: string };
function scripted(turns: Turn[]): ScriptedModel {
  return new ScriptedModel(turns.map((t) => ('call' in t ? [functionCall(t.call[1], t.call[2], { callId: t.call[0] })] : [assistantMessage(t.text)])));
}

/** Every function-call output the model was sent in its last request. */
function outputsSeen(model: ScriptedModel): string {
  return JSON.stringify(model.lastCall?.request.input);
}

async function setup(options: ApeOptions = {}, integration: IntegrationOptions = {}, style: 'apeTool' | 'apeAgentTools' = 'apeTool') {
  const { ape, audit } = await makeApe(root, options);
  apes.push(ape);
  const runs: string[] = [];
  const ops = fileOps(runs);
  const defs = {
    read_file: { name: 'read_file', description: 'read a file', parameters: z.object({ path: z.string() }), execute: ops.read },
    delete_file: { name: 'delete_file', description: 'delete a file', parameters: z.object({ path: z.string() }), execute: ops.remove },
  };
  const tools: Tool<unknown>[] = style === 'apeTool'
    ? [apeTool(ape, defs.read_file, integration), apeTool(ape, defs.delete_file, integration)]
    : apeAgentTools(ape, [tool(defs.read_file), tool(defs.delete_file)], integration);
  return { ape, audit, runs, tools };
}

function agentWith(model: ScriptedModel, tools: Tool<unknown>[]): Agent {
  return new Agent({ name: 'files', instructions: 'work with files', model, tools });
}

describe.each(['apeTool', 'apeAgentTools'] as const)('openai-agents (%s) in run()', (style) => {
  it('an allowed call runs and its output goes back to the model', async () => {
    writeFileSync(join(root, 'notes.md'), 'hello');
    const { runs, tools, audit } = await setup({}, {}, style);
    const model = scripted([{ call: ['c1', 'read_file', { path: join(root, 'notes.md') }] }, { text: 'read it' }]);
    const result = await run(agentWith(model, tools), 'read notes');
    expect(result.finalOutput).toBe('read it');
    expect(runs).toEqual([`read ${join(root, 'notes.md')}`]);
    expect(outputsSeen(model)).toContain('hello');
    expect(audit.events.find((e) => e.type === 'execution.completed')?.data).toMatchObject({ trust: 'external' });
  });

  it('a denied call never runs, never reaches a human, and the model reads the reason', async () => {
    writeFileSync(join(root, 'k.secret'), 'k');
    const { runs, tools } = await setup({}, {}, style);
    const model = scripted([{ call: ['c1', 'read_file', { path: join(root, 'k.secret') }] }, { text: 'ok' }]);
    const result = await run(agentWith(model, tools), 'read');
    expect(result.interruptions).toEqual([]);
    expect(runs).toEqual([]);
    expect(outputsSeen(model)).toContain("is denied by rule 'no-secrets'");
  });

  it('an escalation interrupts the run; approve resumes and runs it, reject never runs it', async () => {
    const file = join(root, 'old.tmp');
    writeFileSync(file, 'x');
    const { runs, tools } = await setup({}, {}, style);
    const model = scripted([{ call: ['c1', 'delete_file', { path: file }] }, { text: 'deleted' }, { call: ['c2', 'delete_file', { path: file }] }, { text: 'kept' }]);
    const agent = agentWith(model, tools);
    const first = await run(agent, 'delete old.tmp');
    expect(first.interruptions).toHaveLength(1);
    expect(runs).toEqual([]);
    first.state.approve(first.interruptions[0] as never);
    const resumed = await run(agent, first.state);
    expect(resumed.finalOutput).toBe('deleted');
    expect(runs).toEqual([`delete ${file}`]);
    expect(existsSync(file)).toBe(false);

    writeFileSync(file, 'x');
    const second = await run(agent, 'delete it again');
    expect(second.interruptions).toHaveLength(1);
    second.state.reject(second.interruptions[0] as never, { message: 'keep it' });
    const refused = await run(agent, second.state);
    expect(refused.finalOutput).toBe('kept');
    expect(runs).toEqual([`delete ${file}`]);
    expect(existsSync(file)).toBe(true);
    expect(outputsSeen(model)).toContain('keep it');
  });

  it('a whole-tool approval (alwaysApprove) is refused: approval is per call', async () => {
    const file = join(root, 'always.tmp');
    writeFileSync(file, 'x');
    const { runs, tools } = await setup({}, {}, style);
    const model = scripted([{ call: ['c1', 'delete_file', { path: file }] }, { text: 'done' }]);
    const agent = agentWith(model, tools);
    const first = await run(agent, 'delete');
    first.state.approve(first.interruptions[0] as never, { alwaysApprove: true });
    await run(agent, first.state);
    expect(runs).toEqual([]);
    expect(existsSync(file)).toBe(true);
    expect(outputsSeen(model)).toContain('approve each call');
  });

  it('tampered arguments in a serialized RunState are refused; the approval expires', async () => {
    const file = join(root, 'keep.tmp');
    const other = join(root, 'other.tmp');
    writeFileSync(file, 'x');
    writeFileSync(other, 'y');
    const clock = fakeClock();
    const { runs, tools } = await setup({ now: clock.now }, { approvalTtlMs: 60_000 }, style);
    const model = scripted([{ call: ['c1', 'delete_file', { path: file }] }, { text: 'done' }, { call: ['c2', 'delete_file', { path: file }] }, { text: 'done' }]);
    const agent = agentWith(model, tools);
    const first = await run(agent, 'delete');
    first.state.approve(first.interruptions[0] as never);
    // The approved state is stored and comes back with other arguments for the same call id.
    const text = first.state.toString().split(JSON.stringify(JSON.stringify({ path: file })).slice(1, -1)).join(JSON.stringify(JSON.stringify({ path: other })).slice(1, -1));
    expect(text).toContain('other.tmp');
    // The SDK resumes the approved call with the new arguments; APE refuses them.
    await run(agent, await RunState.fromString(agent, text));
    expect(runs).toEqual([]);
    expect(existsSync(other)).toBe(true);
    expect(outputsSeen(model)).toContain('the approval is bound to other arguments');

    const late = await run(agent, 'delete again');
    late.state.approve(late.interruptions[0] as never);
    clock.advance(61_000);
    await run(agent, late.state);
    expect(runs).toEqual([]);
    expect(outputsSeen(model)).toContain('the approval expired');
  });

  it('observe mode runs what enforce would refuse and audits it', async () => {
    writeFileSync(join(root, 'o.secret'), 's');
    const { runs, tools, audit } = await setup({ mode: 'observe' }, {}, style);
    const model = scripted([{ call: ['c1', 'read_file', { path: join(root, 'o.secret') }] }, { text: 'ok' }]);
    await run(agentWith(model, tools), 'read');
    expect(runs).toEqual([`read ${join(root, 'o.secret')}`]);
    expect(audit.events.find((e) => e.type === 'gate.observed' && e.data?.['stage'] !== 'plan')?.data?.['would_block']).toMatchObject({ decision: 'deny', rule: 'no-secrets' });
  });
});

describe('openai-agents: approvals across processes', () => {
  it('a RunState resumed by another Ape is refused unless both share the approval store, and then only with the approved arguments', async () => {
    const file = join(root, 'far.tmp');
    writeFileSync(file, 'x');
    const other = join(root, 'near.tmp');
    writeFileSync(other, 'y');
    const runAcross = async (store?: MemorySingleUseStore<PendingCall>, tamper = false) => {
      const integration = store ? { approvalStore: store } : {};
      const here = await setup({}, integration);
      const there = await setup({}, integration);
      const model = scripted([{ call: ['c1', 'delete_file', { path: file }] }, { text: 'done' }]);
      const first = await run(agentWith(model, here.tools), 'delete');
      first.state.approve(first.interruptions[0] as never);
      const agentThere = agentWith(model, there.tools);
      let text = first.state.toString();
      if (tamper) text = text.split('far.tmp').join('near.tmp');
      await run(agentThere, await RunState.fromString(agentThere, text));
      return { runs: [...here.runs, ...there.runs], seen: outputsSeen(model) };
    };
    const alone = await runAcross();
    expect(alone.runs).toEqual([]);
    expect(alone.seen).toContain('no approval was requested for this exact call');
    const tampered = await runAcross(new MemorySingleUseStore<PendingCall>(), true);
    expect(tampered.runs).toEqual([]);
    expect(tampered.seen).toContain('the approval is bound to other arguments');
    const shared = await runAcross(new MemorySingleUseStore<PendingCall>());
    expect(shared.runs).toEqual([`delete ${file}`]);
    expect(existsSync(other)).toBe(true);
  });
});

describe('openai-agents: options', () => {
  it('onDeny: throw hands the typed error to the tool error function; unguardable tools are refused', async () => {
    writeFileSync(join(root, 'notes.md'), 'hello');
    // One read per session: the second read passes the pre-decision and is refused by the gate's limit.
    const { ape } = await makeApe(root, { rateLimits: { per_action: { read_file: { limit: 1 } } } });
    apes.push(ape);
    const runs: string[] = [];
    const seen: unknown[] = [];
    const read = apeTool(ape, {
      name: 'read_file', description: 'read', parameters: z.object({ path: z.string() }), execute: fileOps(runs).read,
      errorFunction: (_ctx, error) => {
        seen.push(error);
        return 'refused';
      },
    }, { onDeny: 'throw' });
    const path = join(root, 'notes.md');
    const model = scripted([{ call: ['c1', 'read_file', { path }] }, { call: ['c2', 'read_file', { path }] }, { text: 'ok' }]);
    await run(agentWith(model, [read]), 'read twice');
    expect(runs).toEqual([`read ${path}`]);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(QuotaExhaustedError);
    expect(outputsSeen(model)).toContain('refused');
    expect(() => apeAgentTools(ape, [{ type: 'hosted_tool', name: 'web_search' } as unknown as Tool<unknown>])).toThrow(IntegrationConfigError);
    expect(() => apeTool(ape, { description: 'x', parameters: z.object({}) } as never)).toThrow(IntegrationConfigError);
  });
});
