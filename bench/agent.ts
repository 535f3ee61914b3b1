/**
 * The agent layer: the intent compiler's precision and recall on the labelled prompt corpus, and the
 * cost of guard() against a direct call (and against the runtime's planned path), same run, same machine.
 * Run: npx tsx bench/agent.ts  (writes bench/results/agent.json and agent.md)
 */
import { loadavg } from 'node:os';
import { Ape } from '../src/agent/index.js';
import { compileIntent } from '../src/agent/intent/compile.js';
import { scoreCorpus, type CorpusScore, type Ratio } from '../src/agent/intent/score.js';
import { compilePolicySource } from '../src/compiler/index.js';
import { NativeEvaluator } from '../src/evaluator.js';
import { ApeRuntime, MemorySink } from '../src/runtime/index.js';
import { CORPUS, HELD_OUT } from '../test/agent/corpus.js';
import { fmt, machine, measure, measureAsync, writeResults, type Timing } from './lib.js';

const POLICY = `
name: bench_agent
default_decision: deny
rules:
  - id: read-app
    action: read_file
    decision: allow
    conditions:
      path: { prefix: [/srv/app/] }
`;
const params = { path: '/srv/app/config.yaml' };
const tool = (p: { path: string }): number => p.path.length;

const load = loadavg();

// 1. Corpus.
const tuned = scoreCorpus(CORPUS);
const heldOut = scoreCorpus(HELD_OUT);
const compileTiming = measure((i) => {
  const e = CORPUS[i % CORPUS.length];
  try {
    return compileIntent(e?.prompt ?? '');
  } catch (error) {
    return error;
  }
}, { batch: CORPUS.length, samples: 51, warmup: 5 });

/** `measureAsync` plus the process CPU time (user + system) per operation over the whole run, warm-up included. */
async function timed(op: (i: number) => Promise<unknown>, batch: number): Promise<Timing & { cpu_ns: number }> {
  const samples = 41;
  const warmup = 5;
  const before = process.cpuUsage();
  const t = await measureAsync(op, { batch, samples, warmup });
  const used = process.cpuUsage(before);
  return { ...t, cpu_ns: Math.round(((used.user + used.system) * 1000) / (batch * (samples + warmup))) };
}

// 2. guard() overhead.
type Timed = Timing & { cpu_ns: number };
async function guardTimings(withAudit: boolean): Promise<{ direct: Timed; guarded: Timed; planned: Timed }> {
  const sinks = withAudit ? [new MemorySink()] : [];
  const ape = await Ape.fromPolicy(POLICY, { audit: sinks });
  const guarded = ape.guard<{ path: string }, number>('read_file', tool, { tool: 'fs.read' });
  const clear = () => sinks.forEach((s) => s.clear());
  const direct = await timed(async () => tool(params), 200);
  const g = await timed(async () => {
    clear();
    return guarded(params);
  }, 100);
  await ape.close();
  // Baseline: the runtime's planned path for one step (intent and plan set once, then one executeStep per call).
  const runtime = new ApeRuntime({ evaluator: new NativeEvaluator(compilePolicySource(POLICY)), audit: withAudit ? [new MemorySink()] : [] });
  runtime.registerTool({ name: 'fs.read', action: 'read_file', run: (p) => tool(p as { path: string }) });
  const session = await runtime.openSession({ tenant: 'bench' });
  const run = await runtime.createRun(session);
  await run.setIntent({ allowed_actions: ['read_file'] });
  await run.approvePlan({ steps: [{ action: 'read_file', tool: 'fs.read', parameters: params }] });
  run.start();
  const planned = await timed(() => run.executeStep(0), 100);
  await run.terminate();
  return { direct, guarded: g, planned };
}
const noAudit = await guardTimings(false);
const audited = await guardTimings(true);

// 3. One prompt end to end (compile, plan, approve, two steps through the gate).
const ape = await Ape.fromPolicy(POLICY);
ape.tool<{ path: string }, number>('read_file', tool, { name: 'fs.read' });
const executeTiming = await measureAsync(() => ape.execute('Read /srv/app/a.yaml and /srv/app/b.yaml'), { batch: 20, samples: 31, warmup: 3 });
await ape.close();

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const row = (name: string, r: Ratio) => `| ${name} | ${pct(r.precision)} | ${pct(r.recall)} | ${r.tp} | ${r.fp} | ${r.fn} |`;
const scoreTable = (title: string, s: CorpusScore) => [
  `### ${title} (${s.prompts} prompts; ${s.ambiguity.expected} labelled ambiguous, ${s.ambiguity.raised} raised IntentAmbiguityError; ${s.ambiguity.unexpected} unexpected ambiguity errors)`,
  '',
  '| measure | precision | recall | tp | fp | fn |',
  '|---|---|---|---|---|---|',
  row('actions', s.actions),
  row('side-effecting actions', s.sideEffecting),
  row('parameters (action.param=value)', s.parameters),
  row('forbidden by negation', s.forbidden),
  '',
  s.misses.length === 0 ? 'No misses.' : ['Misses:', '', ...s.misses.map((m) => `- ${m.kind}: "${m.prompt}" (${m.detail})`)].join('\n'),
  '',
];
const ratio = (a: Timing, b: Timing) => `${(a.median_ns / b.median_ns).toFixed(1)}x`;
const md = [
  '# Agent layer',
  '',
  `Node ${process.version}, ${machine()['cpu']}, ${machine()['cores']} cores, load average ${load.map((l) => l.toFixed(1)).join(' ')} at the start, ${new Date().toISOString()}. Medians over batches; the machine is shared, so wall-clock figures move with the load.`,
  '',
  '## Intent compiler on the labelled corpus (test/agent/corpus.ts)',
  '',
  'Labels are what a careful reader takes from each prompt. The tuned set was used to build the lexicon; the held-out set was written afterwards and never tuned on.',
  '',
  ...scoreTable('Tuned corpus', tuned),
  ...scoreTable('Held-out prompts', heldOut),
  `Compile time: ${fmt(compileTiming.median_ns)} median per prompt (p90 ${fmt(compileTiming.p90_ns)}), over the tuned corpus.`,
  '',
  '## guard() against a direct call (native engine, memory stores)',
  '',
  'A guarded call is a one-step run: open a run in the default session, set the intent, approve the one-step plan (which decides the call), start, decide again and issue a single-use token, the gate checks and consumes it, the tool runs, the run is terminated. The baseline "planned step" is the runtime\'s own path for a step of an already approved plan.',
  '',
  'Wall: median over 41 batches; CPU: process CPU time per call over the whole measurement (warm-up included), steadier than wall time on a shared machine.',
  '',
  '| audit | direct call wall / CPU | guard() call wall / CPU | planned step (runtime) wall / CPU | guard() / direct (wall) | guard() / planned step (CPU) |',
  '|---|---|---|---|---|---|',
  ...[['none', noAudit], ['memory sink', audited]].map(([name, t]) => {
    const x = t as Awaited<ReturnType<typeof guardTimings>>;
    return `| ${String(name)} | ${fmt(x.direct.median_ns)} / ${fmt(x.direct.cpu_ns)} | ${fmt(x.guarded.median_ns)} / ${fmt(x.guarded.cpu_ns)} | ${fmt(x.planned.median_ns)} / ${fmt(x.planned.cpu_ns)} | ${ratio(x.guarded, x.direct)} | ${(x.guarded.cpu_ns / x.planned.cpu_ns).toFixed(1)}x |`;
  }),
  '',
  `One prompt end to end (\`ape.execute('Read /srv/app/a.yaml and /srv/app/b.yaml')\`: compile, plan, approve, two steps through the gate): ${fmt(executeTiming.median_ns)} median.`,
  '',
];
writeResults('agent', { machine: machine(), load, corpus: { tuned: { ...tuned }, heldOut: { ...heldOut } }, compile: compileTiming, guard: { noAudit, audited }, execute: executeTiming }, md.join('\n'));
console.log(md.join('\n'));
