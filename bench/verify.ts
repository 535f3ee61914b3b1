/**
 * Time to prove (or refute) properties with the in-process Z3 solver: on the example policies and on a
 * generated 1,000-action policy, with the solver's start-up measured and counted in.
 */
import { join } from 'node:path';
import { compilePolicyFile, compilePolicySource } from '../src/compiler/compile.js';
import { propertyFrom } from '../src/verify/properties.js';
import { semanticDiff } from '../src/verify/semantic-diff.js';
import { checkSmt } from '../src/verify/solver.js';
import { verifyProperty } from '../src/verify/verify.js';
import { largePolicyYaml } from './generate.js';
import { machine, writeResults } from './lib.js';

const root = new URL('../', import.meta.url).pathname;
type Raw = Parameters<typeof propertyFrom>[0];

const EXAMPLES: { policy: string; raw: Raw }[] = [
  { policy: 'minimal_safe', raw: { name: 'never deletes or shells', never: ['delete_file', 'delete_directory', 'run_shell_command'] } },
  { policy: 'minimal_safe', raw: { name: 'queries are selects', action: 'query_data', always: { query: { regex: '^\\s*(?i:select)\\s' } } } },
  { policy: 'minimal_safe', raw: { name: 'never a query (refuted)', never: 'query_data' } },
  { policy: 'minimal_safe', raw: { name: 'read_file.path within /workspace/', action: 'read_file', within: { path: '/workspace/' } } },
  { policy: 'scoped_access', raw: { name: 'no .env reads', never: 'read_file', where: { path: { allowlist: ['*/.env'] } } } },
  { policy: 'scoped_access', raw: { name: 'writes within /workspace/', action: ['write_file', 'append_file'], within: { path: '/workspace/' } } },
  { policy: 'scoped_access', raw: { name: 'never mail to evil.io', never: 'send_email', where: { 'to.domain': { allowlist: ['*evil.io'] } } } },
  { policy: 'scoped_access', raw: { name: 'only api.github.com (refuted)', action: 'http_get', always: { 'url.host': { equals: 'api.github.com' } }, decisions: ['allow'] } },
  { policy: 'development', raw: { name: 'rm -rf never runs', never: 'run_shell_command', where: { command: { regex: 'rm\\s+-[a-z]*r' } } } },
  { policy: 'development', raw: { name: 'allowed writes in /workspace/ (refuted)', action: 'write_file', within: { path: '/workspace/' }, decisions: ['allow'] } },
  { policy: 'filesystem_scoped', raw: { name: 'secrets never', never: ['read_file', 'write_file'], where: { path: { prefix: '/srv/app/secrets/' } } } },
  { policy: 'filesystem_scoped', raw: { name: 'reads within scope', action: 'read_file', within: { path: ['/srv/app/', '/tmp/build/'] } } },
  { policy: 'human_in_loop', raw: { name: 'no mass email', never: 'send_email', where: { cc: { min_length: 21 } } } },
  { policy: 'read_only', raw: { name: 'no plain http', never: 'http_get', where: { 'url.scheme': { equals: 'http' } } } },
  { policy: 'read_only', raw: { name: 'no key reads', never: ['read_file', 'search_files'], where: { path: { allowlist: ['*.key', '*/.ssh/*'] } } } },
];

const startBegan = performance.now();
await checkSmt('(declare-const x Int)\n(assert (> x 1))');
const solverStartMs = performance.now() - startBegan;

const examples = [];
for (const { policy, raw } of EXAMPLES) {
  const compiled = compilePolicyFile(join(root, 'policies', `${policy}.yaml`));
  const result = await verifyProperty(compiled, propertyFrom(raw));
  examples.push({ policy, property: raw.name, status: result.status, ms: Math.round(result.ms * 10) / 10 });
  console.error(policy, raw.name, result.status, Math.round(result.ms));
}

const COUNT = 1000;
const large = compilePolicySource(largePolicyYaml(COUNT), 'bench_large.yaml');
const changedYaml = largePolicyYaml(COUNT, 'bench_large_changed').replace('path: { prefix: /data/t500/ }', 'path: { prefix: /data/ }');
const changed = compilePolicySource(changedYaml, 'bench_large_changed.yaml');
const allTools = Array.from({ length: COUNT }, (_, i) => `tool_${i}`);
const largeCases: { name: string; run: () => Promise<{ status: string }> }[] = [
  { name: 'tool_500.path within /data/t500/', run: () => verifyProperty(large, propertyFrom({ name: 'p', action: 'tool_500', within: { path: '/data/t500/' } })) },
  { name: 'never tool_10 on a .pem (its deny rule holds)', run: () => verifyProperty(large, propertyFrom({ name: 'p', never: 'tool_10', where: { path: { suffix: '.pem' } } })) },
  { name: 'never tool_7 on a .pem (refuted)', run: () => verifyProperty(large, propertyFrom({ name: 'p', never: 'tool_7', where: { path: { suffix: '.pem' } } })) },
  { name: `never /etc/ for all ${COUNT} actions (${COUNT} queries)`, run: () => verifyProperty(large, propertyFrom({ name: 'p', never: allTools, where: { path: { prefix: '/etc/' } } })) },
  {
    name: `semantic diff, ${COUNT} actions, one rule widened (${COUNT + 19} actions compared)`,
    run: async () => {
      const d = await semanticDiff(large, changed, { narrowingOnly: true });
      return { status: d.equivalent ? 'equivalent' : `${d.differences.length} difference(s), ${d.widenings?.length ?? 0} widening(s)` };
    },
  },
];
const largeResults = [];
for (const c of largeCases) {
  const began = performance.now();
  const r = await c.run();
  largeResults.push({ property: c.name, status: r.status, ms: Math.round((performance.now() - began) * 10) / 10 });
  console.error(c.name, r.status, Math.round(performance.now() - began));
}

const worst = Math.max(...examples.map((e) => e.ms));
const results = {
  machine: machine(),
  solver_start_ms: Math.round(solverStartMs),
  examples,
  large_1000_actions: largeResults,
  targets: { every_example_query_under_2s_with_start: worst + solverStartMs < 2000, worst_example_ms: worst },
};

const m = results.machine;
const markdown = [
  '# Verification with Z3 (z3-solver, WASM, in-process)',
  '',
  `Node ${m['node']}, ${String(m['cpu']).split(' ').slice(0, 2).join(' ')}, ${m['cores']} cores, ${m['date']}. One Z3 context per process; every query has a timeout (10 s); each refutation includes the native evaluator's confirmation of the counterexample.`,
  '',
  `Solver start (WASM init and a first trivial query): **${results.solver_start_ms} ms**.`,
  '',
  '| policy | property | status | ms |',
  '|---|---|---|---|',
  ...examples.map((e) => `| ${e.policy} | ${e.property} | ${e.status} | ${e.ms} |`),
  '',
  `Worst example property: ${worst} ms; with the solver start: ${Math.round(worst + solverStartMs)} ms (target < 2 s: ${results.targets.every_example_query_under_2s_with_start ? 'met' : 'NOT met'}).`,
  '',
  `## Generated ${COUNT}-action policy (bench/generate.ts)`,
  '',
  '| question | result | ms |',
  '|---|---|---|',
  ...largeResults.map((r) => `| ${r.property} | ${r.status} | ${r.ms} |`),
].join('\n');
writeResults('verify', results, markdown);
console.log(markdown);
process.exit(0);
