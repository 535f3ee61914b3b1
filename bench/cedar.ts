/**
 * Native vs cedar (cedar-wasm) on the same prepared engine inputs in the same run, for a small
 * policy and a generated 1,000-action policy. Results: bench/results/cedar.json and cedar.md.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { CedarEngine } from '../src/adapters/cedar/index.js';
import { NativeEngine } from '../src/adapters/native/index.js';
import { getCedarVersion } from '../src/compiler/cedar/wasm.js';
import { compilePolicyFile, compilePolicySource, type CompiledPolicy } from '../src/compiler/compile.js';
import { RequestPreparer, type DecisionRequest } from '../src/compiler/engine-input.js';
import type { EngineInput } from '../src/compiler/ir.js';
import { largePolicyYaml } from './generate.js';
import { fmt, machine, measure, writeResults, type Timing } from './lib.js';

const root = new URL('../', import.meta.url).pathname;

function inputsFor(policy: CompiledPolicy, requests: DecisionRequest[]): EngineInput[] {
  const preparer = new RequestPreparer(policy.ir);
  return requests.map((r) => preparer.prepare(r));
}

/** Each decision timed on its own: the median and p90 of single-decision latencies (not batch means). */
function singleDecisions(op: (i: number) => unknown, count: number): { median_ns: number; p90_ns: number } {
  for (let i = 0; i < 2000; i++) op(i);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    op(i);
    times.push(Number(process.hrtime.bigint() - t0));
  }
  times.sort((a, b) => a - b);
  return { median_ns: times[Math.floor(count / 2)] as number, p90_ns: times[Math.floor(count * 0.9)] as number };
}

function pair(policy: CompiledPolicy, inputs: EngineInput[]) {
  const native = new NativeEngine(policy.ir, policy.hash);
  const t0 = process.hrtime.bigint();
  const cedar = new CedarEngine(policy);
  for (const input of inputs) cedar.decideSync(input); // preparses each action's policies once
  const load_ms = Math.round(Number(process.hrtime.bigint() - t0) / 1e5) / 10;
  for (const input of inputs) {
    const { engine: _a, ...a } = native.decideSync(input);
    const { engine: _b, ...b } = cedar.decideSync(input);
    if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`engines disagree on ${JSON.stringify(input)}`);
  }
  const n = inputs.length;
  const decisions = new Map<string, number>();
  for (const input of inputs) {
    const r = native.decideSync(input);
    const key = r.rule === null ? `${r.decision} (default)` : r.decision;
    decisions.set(key, (decisions.get(key) ?? 0) + 1);
  }
  return {
    mix: Object.fromEntries(decisions),
    native: measure((i) => native.decideSync(inputs[i % n] as EngineInput)),
    cedar: measure((i) => cedar.decideSync(inputs[i % n] as EngineInput), { batch: 200, samples: 101, warmup: 10 }),
    cedar_single: singleDecisions((i) => cedar.decideSync(inputs[i % n] as EngineInput), 20_000),
    load_and_preparse_ms: load_ms,
  };
}

const small = compilePolicyFile(join(root, 'policies/scoped_access.yaml'));
const smallInputs = inputsFor(small, small.examples);

const COUNT = 1000;
const large = compilePolicySource(largePolicyYaml(COUNT), 'bench_large.yaml');
const largeRequests: DecisionRequest[] = [];
for (let i = 0; i < 64; i++) {
  const t = (i * 97) % COUNT;
  largeRequests.push({ action: `tool_${t}`, params: { path: i % 3 === 0 ? `/data/t${t}/x.pem` : i % 3 === 1 ? `/data/t${t}/a/b` : '/etc/passwd', size: i % 5 === 0 ? 2_000_000 : 10 } });
}
const largeInputs = inputsFor(large, largeRequests);

const smallRun = pair(small, smallInputs);
const largeRun = pair(large, largeInputs);
const TARGET_NS = 40_000;

const results = {
  machine: { ...machine(), cedar: getCedarVersion(), loadavg_1m: Math.round(loadavg()[0]! * 100) / 100 },
  note: 'per decision on prepared engine inputs (validation and canonicalization excluded); the same inputs for both engines, checked equal first. `cedar` = batch-mean median like the other benches; `cedar_single` = median of 20,000 individually timed decisions.',
  small: { policy: 'policies/scoped_access.yaml', inputs: smallInputs.length, ...smallRun },
  large: { policy: `generated, ${COUNT} actions`, inputs: largeInputs.length, ...largeRun },
  targets: {
    cedar_small_under_40us: smallRun.cedar.median_ns < TARGET_NS && smallRun.cedar_single.median_ns < TARGET_NS,
    cedar_large_under_40us: largeRun.cedar.median_ns < TARGET_NS && largeRun.cedar_single.median_ns < TARGET_NS,
  },
};

const row = (name: string, t: Timing) => `| ${name} | ${fmt(t.median_ns)} | ${t.ops_per_s.toLocaleString('en-US')} | ${fmt(t.p10_ns)} | ${fmt(t.p90_ns)} |`;
const single = (name: string, s: { median_ns: number; p90_ns: number }) => `| ${name}, single decisions | ${fmt(s.median_ns)} | ${Math.round(1e9 / s.median_ns).toLocaleString('en-US')} | | ${fmt(s.p90_ns)} |`;
const m: Record<string, string | number> = results.machine;
const markdown = [
  '# Native vs cedar (cedar-wasm)',
  '',
  `Node ${m['node']}, ${String(m['cpu']).split(' ').slice(0, 2).join(' ')}, ${m['cores']} cores (1-minute load average ${m['loadavg_1m']} at the end of the run), Cedar ${m['cedar']}, ${m['date']}. Prepared engine inputs, the same for both engines (checked equal before timing).`,
  '',
  '| case | median / decision | decisions/s | p10 | p90 |',
  '|---|---|---|---|---|',
  row('native, small (scoped_access)', smallRun.native),
  row('cedar, small (scoped_access)', smallRun.cedar),
  single('cedar, small', smallRun.cedar_single),
  row(`native, ${COUNT} actions`, largeRun.native),
  row(`cedar, ${COUNT} actions`, largeRun.cedar),
  single(`cedar, ${COUNT} actions`, largeRun.cedar_single),
  '',
  `Decision mix: small ${JSON.stringify(smallRun.mix)}, ${COUNT} actions ${JSON.stringify(largeRun.mix)}. One \`statefulIsAuthorized\` call per decision (rules, transitions and the detectors that name a default's reasons are preparsed together per action).`,
  '',
  `Target < 40 µs median: small ${results.targets.cedar_small_under_40us ? 'met' : 'NOT met'}, ${COUNT} actions ${results.targets.cedar_large_under_40us ? 'met' : 'NOT met'}. Engine load plus preparsing every benchmarked action: small ${smallRun.load_and_preparse_ms} ms, ${COUNT} actions ${largeRun.load_and_preparse_ms} ms.`,
].join('\n');
writeResults('cedar', results, markdown);
console.log(markdown);
