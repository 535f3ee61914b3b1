/**
 * Native evaluator benchmark: median latency and decisions per second (parameter validation and
 * canonicalization included) for a 6-rule policy and a 1,000-action policy, beside the policy engine
 * of @microsoft/agent-governance-sdk on the same decisions, in the same process.
 */
import { readFileSync } from 'node:fs';
import { PolicyEngine } from '@microsoft/agent-governance-sdk';
import { compilePolicySource } from '../src/compiler/compile.js';
import type { DecisionRequest } from '../src/compiler/engine-input.js';
import { NativeEvaluator } from '../src/evaluator.js';
import { largePolicyYaml } from './generate.js';
import { fmt, machine, measure, writeResults } from './lib.js';

const small = compilePolicySource(readFileSync(new URL('./policies/small.yaml', import.meta.url), 'utf8'), 'bench/policies/small.yaml');
const large = compilePolicySource(largePolicyYaml(1000), 'bench_large.yaml');

const smallRequests: DecisionRequest[] = [
  { action: 'read_file', params: { path: '/workspace/src/index.ts' } },
  { action: 'read_file', params: { path: '/workspace/../etc/passwd' } },
  { action: 'write_file', params: { path: '/workspace/out.txt', content: 'x', size: 120 } },
  { action: 'write_file', params: { path: '/workspace/big.bin', content: 'x', size: 200000 } },
  { action: 'http_get', params: { url: 'https://api.github.com/repos/x' } },
  { action: 'http_get', params: { url: 'https://evil.io/' } },
  { action: 'delete_file', params: { path: '/workspace/a' } },
  { action: 'read_file', params: { path: '/workspace/.env' } },
];
const largeRequests: DecisionRequest[] = Array.from({ length: 64 }, (_, k) => {
  const i = (k * 157) % 1000;
  return { action: `tool_${i}`, params: { path: k % 3 === 0 ? `/data/t${i}/../x` : `/data/t${i}/file.txt`, size: 100 * k } };
});

// The peer: the same six rules as agent-governance-sdk expressions (it has no prefix, glob or
// canonicalization, so path and host checks become equality on pre-split fields).
const peer = new PolicyEngine();
peer.loadPolicy({
  name: 'bench_small',
  default_action: 'deny',
  rules: [
    { name: 'secrets', condition: "action in ['read_file', 'write_file'] and file_ext in ['.env', '.pem']", ruleAction: 'deny', priority: 100 },
    { name: 'no-delete', condition: "action == 'delete_file'", ruleAction: 'deny', priority: 100 },
    { name: 'big-writes', condition: "action == 'write_file' and size >= 65536", ruleAction: 'require_approval', priority: 50 },
    { name: 'read-workspace', condition: "action in ['read_file', 'list_directory'] and root in ['workspace', 'tmp']", ruleAction: 'allow', priority: 10 },
    { name: 'write-workspace', condition: "action == 'write_file' and root == 'workspace' and size <= 1048576", ruleAction: 'allow', priority: 10 },
    { name: 'api-hosts', condition: "action == 'http_get' and host in ['api.github.com', 'api.example.com']", ruleAction: 'allow', priority: 10 },
  ],
});
const peerContexts = smallRequests.map((r) => {
  const p = (r.params ?? {}) as Record<string, unknown>;
  const path = typeof p['path'] === 'string' ? p['path'] : '';
  const url = typeof p['url'] === 'string' ? new URL(p['url']).hostname : '';
  return { action: r.action, root: path.split('/')[1] ?? '', file_ext: path.slice(path.lastIndexOf('.')), size: p['size'] ?? 0, host: url };
});

const smallEval = new NativeEvaluator(small);
const largeEval = new NativeEvaluator(large);
const nS = smallRequests.length;
const nL = largeRequests.length;

const results = {
  machine: machine(),
  native_small: measure((i) => smallEval.decideSync(smallRequests[i % nS] as DecisionRequest)),
  native_large_1000_actions: measure((i) => largeEval.decideSync(largeRequests[i % nL] as DecisionRequest)),
  native_small_engine_only: (() => {
    const inputs = smallRequests.map((r) => smallEval.prepare(r));
    const engine = smallEval.engine as unknown as { decideSync(input: unknown): unknown };
    return measure((i) => engine.decideSync(inputs[i % nS]));
  })(),
  peer_agent_governance_sdk_small: measure((i) => peer.evaluatePolicy('did:agent:bench', peerContexts[i % nS] as Record<string, unknown>)),
};
const ratios = {
  peer_over_native_small: Math.round((results.peer_agent_governance_sdk_small.median_ns / results.native_small.median_ns) * 10) / 10,
  large_over_small: Math.round((results.native_large_1000_actions.median_ns / results.native_small.median_ns) * 100) / 100,
};
writeResults('native', { ...results, ratios }, [
  '# Native evaluator',
  '',
  `Node ${results.machine.node}, ${results.machine.cpu}, ${results.machine.cores} cores, ${results.machine.date}. Batches of 1,000 decisions, median of 101 batches.`,
  '',
  '| case | median / decision | decisions/s | p10 | p90 |',
  '|---|---|---|---|---|',
  ...Object.entries(results)
    .filter(([k]) => k !== 'machine')
    .map(([k, t]) => {
      const timing = t as { median_ns: number; ops_per_s: number; p10_ns: number; p90_ns: number };
      return `| ${k} | ${fmt(timing.median_ns)} | ${timing.ops_per_s.toLocaleString('en-US')} | ${fmt(timing.p10_ns)} | ${fmt(timing.p90_ns)} |`;
    }),
  '',
  `Peer (agent-governance-sdk, same six rules as expressions, no validation or canonicalization) / native: **${ratios.peer_over_native_small}x**.`,
  `1,000-action policy / 6-rule policy: **${ratios.large_over_small}x**.`,
  '',
  'native_small and native_large include JSON checks, parameter-schema validation and canonicalization; native_small_engine_only is the decision on a prepared engine input.',
].join('\n'));
console.log(JSON.stringify({ ...results, ratios }, null, 2));
