/**
 * Native vs opa-wasm on the same prepared engine inputs in the same run (small policy and a
 * generated 1,000-action policy), plus the cost of compiling a YAML policy to a WASM bundle.
 */
import { join } from 'node:path';
import { NativeEngine } from '../src/adapters/native/index.js';
import { OpaWasmEngine } from '../src/adapters/opa-wasm/index.js';
import { buildWasmBundle } from '../src/adapters/opa/wasm.js';
import { compilePolicyFile, compilePolicySource, type CompiledPolicy } from '../src/compiler/compile.js';
import { RequestPreparer, type DecisionRequest } from '../src/compiler/engine-input.js';
import type { EngineInput } from '../src/compiler/ir.js';
import { factsDecisionPath } from '../src/compiler/rego/index.js';
import { largePolicyYaml } from './generate.js';
import { fmt, machine, measure, writeResults, type Timing } from './lib.js';

const root = new URL('../', import.meta.url).pathname;

function inputsFor(policy: CompiledPolicy, requests: DecisionRequest[]): EngineInput[] {
  const preparer = new RequestPreparer(policy.ir);
  return requests.map((r) => preparer.prepare(r));
}

async function pair(policy: CompiledPolicy, inputs: EngineInput[]): Promise<{ native: Timing; wasm: Timing; build_ms: number }> {
  const native = new NativeEngine(policy.ir, policy.hash);
  const started = process.hrtime.bigint();
  const bundle = await buildWasmBundle(policy);
  const build_ms = Number(process.hrtime.bigint() - started) / 1e6;
  const wasm = await OpaWasmEngine.load(bundle, factsDecisionPath(policy.ir.name), policy.hash);
  // Same answers before timing anything.
  for (const input of inputs) {
    const { engine: _a, ...a } = native.decideSync(input);
    const { engine: _b, ...b } = wasm.decideSync(input);
    if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`engines disagree on ${JSON.stringify(input)}`);
  }
  const n = inputs.length;
  return {
    native: measure((i) => native.decideSync(inputs[i % n] as EngineInput)),
    wasm: measure((i) => wasm.decideSync(inputs[i % n] as EngineInput), { batch: 200, samples: 101, warmup: 20 }),
    build_ms: Math.round(build_ms),
  };
}

const small = compilePolicyFile(join(root, 'policies/scoped_access.yaml'));
const smallInputs = inputsFor(small, small.examples);

const COUNT = 1000;
const largeYaml = largePolicyYaml(COUNT);
const large = compilePolicySource(largeYaml, 'bench_large.yaml');
const largeRequests: DecisionRequest[] = [];
for (let i = 0; i < 64; i++) {
  const t = (i * 97) % COUNT;
  largeRequests.push({ action: `tool_${t}`, params: { path: i % 3 === 0 ? `/data/t${t}/x.pem` : i % 3 === 1 ? `/data/t${t}/a/b` : '/etc/passwd', size: i % 5 === 0 ? 2_000_000 : 10 } });
}
const largeInputs = inputsFor(large, largeRequests);

const smallRun = await pair(small, smallInputs);
const largeRun = await pair(large, largeInputs);

// YAML text -> compiled policy -> Rego -> `opa build -t wasm` -> bundle bytes, uncached.
const compileTimes: number[] = [];
for (let i = 0; i < 5; i++) {
  const t0 = process.hrtime.bigint();
  await buildWasmBundle(compilePolicySource(largeYaml.replace('name: bench_large', `name: bench_large_${i}`), 'x.yaml'));
  compileTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
const smallCompile: number[] = [];
const smallYaml = (await import('node:fs')).readFileSync(join(root, 'policies/scoped_access.yaml'), 'utf8');
for (let i = 0; i < 5; i++) {
  const t0 = process.hrtime.bigint();
  await buildWasmBundle(compilePolicySource(smallYaml, 'scoped_access.yaml'));
  smallCompile.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
const median = (xs: number[]) => Math.round([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number);

const results = {
  machine: machine(),
  note: 'per decision on prepared engine inputs (validation and canonicalization excluded); the same inputs for both engines, checked equal first',
  small: { policy: 'policies/scoped_access.yaml', inputs: smallInputs.length, native: smallRun.native, opa_wasm: smallRun.wasm },
  large: { policy: `generated, ${COUNT} actions`, inputs: largeInputs.length, native: largeRun.native, opa_wasm: largeRun.wasm },
  compile_yaml_to_wasm_ms: { small_median: median(smallCompile), large_1000_actions_median: median(compileTimes), runs: 5 },
  targets: {
    opa_wasm_small_under_10us: smallRun.wasm.median_ns < 10_000,
    opa_wasm_large_over_small: Math.round((largeRun.wasm.median_ns / smallRun.wasm.median_ns) * 100) / 100,
  },
};

const row = (name: string, t: Timing) => `| ${name} | ${fmt(t.median_ns)} | ${t.ops_per_s.toLocaleString('en-US')} | ${fmt(t.p10_ns)} | ${fmt(t.p90_ns)} |`;
const m = results.machine;
const markdown = [
  '# Native vs opa-wasm',
  '',
  `Node ${m['node']}, ${String(m['cpu']).split(' ').slice(0, 2).join(' ')}, ${m['cores']} cores, ${m['date']}. Prepared engine inputs, the same for both engines (checked equal before timing); median over batches.`,
  '',
  '| case | median / decision | decisions/s | p10 | p90 |',
  '|---|---|---|---|---|',
  row('native, small (scoped_access)', smallRun.native),
  row('opa-wasm, small (scoped_access)', smallRun.wasm),
  row(`native, ${COUNT} actions`, largeRun.native),
  row(`opa-wasm, ${COUNT} actions`, largeRun.wasm),
  '',
  `opa-wasm small: **${fmt(smallRun.wasm.median_ns)}** median (target < 10 µs: ${results.targets.opa_wasm_small_under_10us ? 'met' : 'NOT met'}); ${COUNT}-action / small: **${results.targets.opa_wasm_large_over_small}x**.`,
  '',
  `Compiling YAML to a WASM bundle (compile, emit Rego, \`opa build -t wasm\` with the capability check), median of 5: small ${results.compile_yaml_to_wasm_ms.small_median} ms, ${COUNT} actions ${results.compile_yaml_to_wasm_ms.large_1000_actions_median} ms. \`--engine opa-wasm\` caches the build by content, so this is paid once per policy version.`,
].join('\n');
writeResults('opa', results, markdown);
console.log(markdown);
