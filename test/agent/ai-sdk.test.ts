// The Vercel AI SDK adapter: structured output (generateText + Output.object) from the SDK's own mock language model plans a real execution; a widening plan is refused and repaired.
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateText, jsonSchema, Output } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { afterAll, describe, expect, it } from 'vitest';
import { aiSdkModelHook, Ape, type ModelHook, type StructuredOutputRequest } from '../../src/agent/index.js';
import { agentPolicy } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'ape-ai-sdk-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const usage = { inputTokens: { total: 50, noCache: 50, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 20, text: 20, reasoning: 0 } };

/** A mock model answering each call with the next text. */
function scripted(answers: string[]): MockLanguageModelV4 {
  let n = 0;
  return new MockLanguageModelV4({
    doGenerate: async () => ({
      content: [{ type: 'text', text: answers[Math.min(n++, answers.length - 1)] as string }],
      finishReason: { unified: 'stop', raw: 'stop' },
      usage,
      warnings: [],
    }),
  });
}

/** The adapter bound to the AI SDK: structured output validated by the SDK against APE's schema. */
function hookFor(model: MockLanguageModelV4): ModelHook {
  return aiSdkModelHook(async ({ system, prompt, schema }: StructuredOutputRequest) => {
    const result = await generateText({ model, system, prompt, output: Output.object({ schema: jsonSchema(schema as Parameters<typeof jsonSchema>[0]) }) });
    return result.output;
  });
}

async function make(): Promise<{ ape: Ape; runs: string[] }> {
  const ape = await Ape.fromPolicy(agentPolicy(root));
  const runs: string[] = [];
  ape.tool<{ path: string }, string>('read_file', (p) => (runs.push(`read ${p.path}`), readFileSync(p.path, 'utf8')), { name: 'fs.read' });
  ape.tool<{ path: string }, string>('delete_file', (p) => (runs.push(`delete ${p.path}`), unlinkSync(p.path), p.path), { name: 'fs.delete' });
  return { ape, runs };
}

describe('aiSdkModelHook with the AI SDK mock language model', () => {
  it('plans through structured output; the plan runs through the gate', async () => {
    writeFileSync(join(root, 'notes.md'), 'hello');
    const model = scripted([JSON.stringify({ steps: [{ action: 'read_file', tool: 'fs.read', parameters: { path: join(root, 'notes.md') } }] })]);
    const { ape, runs } = await make();
    const r = await ape.execute('Read notes.md', { workspace: root, planner: hookFor(model) });
    await ape.close();
    expect(r.status).toBe('completed');
    expect(r.steps[0]?.output?.value).toBe('hello');
    expect(runs).toEqual([`read ${join(root, 'notes.md')}`]);
    // The SDK sent APE's planner prompt and the plan schema to the model.
    const call = model.doGenerateCalls[0];
    expect(JSON.stringify(call?.prompt)).toContain('Allowed actions');
    expect(JSON.stringify(call?.responseFormat)).toContain('"steps"');
  });

  it('a structured answer that widens the intent is refused, fed back, and the repaired plan runs', async () => {
    writeFileSync(join(root, 'notes.md'), 'hello');
    writeFileSync(join(root, 'old.tmp'), 'x');
    const widening = JSON.stringify({ steps: [{ action: 'delete_file', tool: 'fs.delete', parameters: { path: join(root, 'old.tmp') } }] });
    const fixed = JSON.stringify({ steps: [{ action: 'read_file', tool: 'fs.read', parameters: { path: join(root, 'notes.md') } }] });
    const model = scripted([widening, fixed]);
    const { ape, runs } = await make();
    const r = await ape.execute('Read notes.md', { workspace: root, planner: hookFor(model) });
    await ape.close();
    expect(r.status).toBe('completed');
    expect(runs).toEqual([`read ${join(root, 'notes.md')}`]);
    expect(existsSync(join(root, 'old.tmp'))).toBe(true);
    expect(model.doGenerateCalls).toHaveLength(2);
    expect(JSON.stringify(model.doGenerateCalls[1]?.prompt)).toMatch(/previous answer was refused.*not allowed by the intent/);
  });

  it('an intent model answering through the SDK may only narrow', async () => {
    const model = scripted([JSON.stringify({ allowed_actions: ['read_file', 'delete_file'] })]);
    const { ape, runs } = await make();
    await expect(ape.executeOrThrow('Read notes.md', { workspace: root, intentModel: hookFor(model) })).rejects.toMatchObject({ code: 'APE_MODEL_OUTPUT', reason: 'widens' });
    await ape.close();
    expect(runs).toEqual([]);
  });
});
