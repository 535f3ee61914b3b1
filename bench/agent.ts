/**
 * The agent layer: the intent compiler's precision and recall on the labelled prompt corpus, and the
 * cost of guard() against a direct call (and against the runtime's planned path), same run, same machine.
 * Run: npx tsx bench/agent.ts  (writes bench/results/agent.json and agent.md)
 */
import { readFileSync } from 'node:fs';
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

/**
 * Wall and process CPU time (user + system) per operation: each is the median over `samples` batches,
 * after `warmup` batches (JIT, caches) that are not counted.
 */
async function timed(op: (i: number) => Promise<unknown>, batch: number, samples = 41, warmup = 30): Promise<Timing & { cpu_ns: number }> {
  for (let w = 0; w < warmup; w++) for (let i = 0; i < batch; i++) await op(i);
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let s = 0; s < samples; s++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) await op(i);
    wall.push(Number(process.hrtime.bigint() - t0) / batch);
    const c = process.cpuUsage(c0);
    cpu.push(((c.user + c.system) * 1000) / batch);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const sorted = [...wall].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  const m = median(wall);
  const r = (n: number) => Math.round(n * 10) / 10;
  return { median_ns: r(m), p10_ns: r(at(0.1)), p90_ns: r(at(0.9)), ops_per_s: Math.round(1e9 / m), samples, batch, cpu_ns: Math.round(median(cpu)) };
}

// 2. guard() overhead.
type Timed = Timing & { cpu_ns: number };
async function guardTimings(withAudit: boolean): Promise<{ direct: Timed; guarded: Timed; planned: Timed; fresh: Timed; once: Timed }> {
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
  // The same one-step run written by hand from fresh intent and plan objects (what guard() built per call before it reused its intent).
  const fresh = await timed(async () => {
    const r = await runtime.createRun(session);
    try {
      await r.setIntent({ allowed_actions: ['read_file'], description: 'guarded call of read_file' });
      await r.approvePlan({ steps: [{ action: 'read_file', tool: 'fs.read', parameters: { ...params } }] });
      r.start();
      return await r.executeStep(0, {});
    } finally {
      await r.terminate();
    }
  }, 100);
  // The same by hand, the plan approved with `decideAtExecution`: the call decided once, at execution (what guard() does now).
  const once = await timed(async () => {
    const r = await runtime.createRun(session);
    try {
      await r.setIntent({ allowed_actions: ['read_file'], description: 'guarded call of read_file' });
      await r.approvePlan({ steps: [{ action: 'read_file', tool: 'fs.read', parameters: { ...params } }] }, { decideAtExecution: true });
      r.start();
      return await r.executeStep(0, {});
    } finally {
      await r.terminate();
    }
  }, 100);
  return { direct, guarded: g, planned, fresh, once };
}
const noAudit = await guardTimings(false);
const audited = await guardTimings(true);

// 3. ape.call around a no-op tool (the MCP proxy's decision path: bench/policies/mcp-everything.yaml, action `echo`), against the no-op alone.
const MCP_POLICY = new URL('./policies/mcp-everything.yaml', import.meta.url).pathname;
async function apeCallTimings(): Promise<{ noop: Timed; call: Timed; audited: Timed }> {
  const noop = async (p: object) => p;
  const noopTimed = await timed(() => noop({ message: 'm' }), 200, 61, 30);
  const plain = await Ape.fromPolicy(MCP_POLICY);
  const call = await timed(() => plain.call('echo', { message: 'm' }, noop, { tool: 'echo' }), 200, 61, 30);
  await plain.close();
  const sink = new MemorySink();
  const withSink = await Ape.fromPolicy(MCP_POLICY, { audit: [sink] });
  const auditedTimed = await timed(() => {
    sink.clear();
    return withSink.call('echo', { message: 'm' }, noop, { tool: 'echo' });
  }, 200, 61, 30);
  await withSink.close();
  return { noop: noopTimed, call, audited: auditedTimed };
}
const apeCall = await apeCallTimings();
/**
 * Optional comparison with an earlier run: APE_BENCH_AGENT_BEFORE names the agent.json it wrote (e.g.
 * on the commit before a change), APE_BENCH_AGENT_BEFORE_LABEL says what it was.
 */
const beforeFile = process.env['APE_BENCH_AGENT_BEFORE'];
const before = beforeFile
  ? {
      label: process.env['APE_BENCH_AGENT_BEFORE_LABEL'] ?? beforeFile,
      ...(JSON.parse(readFileSync(beforeFile, 'utf8')) as { guard: { noAudit: Partial<GuardTimings>; audited: Partial<GuardTimings> }; apeCall?: ApeCallTimings }),
    }
  : undefined;

// 4. One prompt end to end (compile, plan, approve, two steps through the gate).
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
type GuardTimings = Awaited<ReturnType<typeof guardTimings>>;
type ApeCallTimings = Awaited<ReturnType<typeof apeCallTimings>>;
function apeCallRows(label: string, t: ApeCallTimings): string[] {
  const cell = (x: Timed) => `${fmt(x.median_ns)} / ${fmt(x.cpu_ns)}`;
  return [
    `| ${label} | ${cell(t.noop)} | ${cell(t.call)} | ${fmt(t.call.cpu_ns - t.noop.cpu_ns)} | ${cell(t.audited)} | ${fmt(t.audited.cpu_ns - t.noop.cpu_ns)} |`,
  ];
}
function guardTable(_title: string, t: { noAudit: Partial<GuardTimings>; audited: Partial<GuardTimings> }): string[] {
  const cell = (x: Timed | undefined) => (x ? `${fmt(x.median_ns)} / ${fmt(x.cpu_ns)}` : 'n/a');
  return [
    '| audit | direct call wall / CPU | guard() call wall / CPU | one-step run by hand, decided at plan and call wall / CPU | by hand, decided at execution only wall / CPU | planned step (runtime) wall / CPU | guard() / direct (wall) | guard() / planned step (CPU) |',
    '|---|---|---|---|---|---|---|---|',
    ...([['none', t.noAudit], ['memory sink', t.audited]] as const).map(([name, x]) => {
      const g = x.guarded as Timed;
      const d = x.direct as Timed;
      const p = x.planned as Timed;
      return `| ${name} | ${cell(d)} | ${cell(g)} | ${cell(x.fresh)} | ${cell(x.once)} | ${cell(p)} | ${ratio(g, d)} | ${(g.cpu_ns / p.cpu_ns).toFixed(1)}x |`;
    }),
  ];
}
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
  'A guarded call is a one-step run: open a run in the default session, set the intent (validated once per action by the runtime\'s createIntent, then set, checked and audited in each run), approve the one-step plan with `decideAtExecution` (intent, scope, tool and schema checked; the policy not asked), start, decide the call once and issue a single-use token, the gate checks and consumes it, the tool runs, the run is terminated. The baseline "planned step" is the runtime\'s own path for a step of an already approved plan.',
  '',
  'The "one-step run by hand" row opens the same kind of run through the runtime from fresh intent and plan objects each call, with a plan decided at approval and the call decided again at execution: what guard() did before it reused a validated intent and decided once. The next row is the same run with the plan approved under `decideAtExecution` (one decision): the two columns side by side are this change measured in one run.',
  '',
  'Wall and CPU: medians over 41 batches of 100 calls (200 for the direct call) after 30 warm-up batches (JIT); CPU is the process CPU time (user + system) per call, steadier than wall time on a shared machine.',
  '',
  ...guardTable('this run', { noAudit, audited }),
  ...(before ? ['', `Before (${before.label}: the same bench script, run just before this one on that commit's src):`, '', ...guardTable('before', before.guard)] : []),
  '',
  '## ape.call around a no-op tool (the MCP proxy\'s decision path)',
  '',
  '`ape.call(\'echo\', { message: \'m\' }, noop, { tool: \'echo\' })` on `bench/policies/mcp-everything.yaml` (native engine, memory stores), the no-op tool alone as the baseline, same run. What every `guard()`, integration and `ape mcp-proxy` tools/call pays inside the runtime and agent layers. Medians over 61 batches of 200 calls after 30 warm-up batches; CPU is the process CPU time per call (all threads: the garbage collector\'s helpers too, so it can exceed wall time).',
  '',
  '| run | no-op alone wall / CPU | ape.call, no audit wall / CPU | added CPU | ape.call, memory audit sink wall / CPU | added CPU |',
  '|---|---|---|---|---|---|',
  ...apeCallRows('this run', apeCall),
  ...(before?.apeCall ? apeCallRows(`before (${before.label})`, before.apeCall) : []),
  '',
  `One prompt end to end (\`ape.execute('Read /srv/app/a.yaml and /srv/app/b.yaml')\`: compile, plan, approve, two steps through the gate): ${fmt(executeTiming.median_ns)} median.`,
  '',
];
writeResults('agent', { machine: machine(), load, corpus: { tuned: { ...tuned }, heldOut: { ...heldOut } }, compile: compileTiming, guard: { noAudit, audited }, apeCall, ...(before ? { before } : {}), execute: executeTiming }, md.join('\n'));
console.log(md.join('\n'));
