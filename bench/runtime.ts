/**
 * Runtime overhead: one tool call on the full path (decide, issue, check, consume, audit to memory)
 * against calling the tool directly, with every registered engine, plus the Python APE 1.0.2 peer.
 * Run: npx tsx bench/runtime.ts  (writes bench/results/runtime.json and runtime.md)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { engineNames } from '../src/adapters/registry.js';
import { compilePolicySource } from '../src/compiler/compile.js';
import { createEvaluator, type Evaluator } from '../src/evaluator.js';
import { ApeRuntime, MemorySink, TokenSigner } from '../src/runtime/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const BATCH = 100;
const BATCHES = Number(process.env['APE_BENCH_BATCHES'] ?? 400);
const POLICY = `
name: bench
default_decision: deny
rules:
  - id: read-app
    action: read_file
    decision: allow
    conditions:
      path: { prefix: [/srv/app/] }
  - id: secrets
    action: read_file
    decision: deny
    conditions:
      path: { allowlist: ["*.pem", "*/.env"] }
`;
const params = { path: '/srv/app/config.yaml' };
const tool = (p: { path: string }): number => p.path.length;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Median over batches of the mean time per call, in microseconds. */
async function measure(fn: () => unknown, between: () => void = () => {}, batches = BATCHES): Promise<number> {
  for (let i = 0; i < BATCH * 20; i++) await fn();
  const samples: number[] = [];
  for (let b = 0; b < batches; b++) {
    between();
    const start = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) await fn();
    samples.push(Number(process.hrtime.bigint() - start) / BATCH / 1000);
  }
  return median(samples);
}

async function fullPath(evaluator: Evaluator): Promise<{ full: number; direct: number }> {
  const sink = new MemorySink();
  const ape = new ApeRuntime({ evaluator, audit: [sink], tokenTtlMs: 60_000 });
  ape.registerTool({ name: 'fs.read', action: 'read_file', run: (p) => tool(p as { path: string }) });
  const run = await ape.createRun(await ape.openSession({ tenant: 'bench', ttlMs: 86_400_000 }));
  await run.setIntent({ allowed_actions: ['read_file'], scope: { paths: ['/srv/app'] } });
  await run.approvePlan({ steps: [{ action: 'read_file', tool: 'fs.read', parameters: params }] });
  run.start();
  const full = await measure(() => run.executeStep(0), () => sink.clear());
  const direct = await measure(() => tool(params));
  return { full, direct };
}

function pythonPeer(): { status: string; full_us?: number; reused_action_us?: number; direct_us?: number } {
  const python = join(here, '..', '.tools', 'ape-py', 'bin', 'python');
  if (!existsSync(python)) {
    return { status: 'not installed: python3 -m venv .tools/ape-py && .tools/ape-py/bin/pip install agent-policy-engine==1.0.2' };
  }
  try {
    const out = execFileSync(python, [join(here, 'ape_python_peer.py'), String(BATCH), String(BATCHES)], { encoding: 'utf8', timeout: 600_000 });
    return { status: 'ok', ...(JSON.parse(out.trim().split('\n').at(-1) as string) as object) };
  } catch (error) {
    return { status: `failed: ${(error as Error).message.split('\n')[0]}` };
  }
}

const policy = compilePolicySource(POLICY);
const engines: Record<string, { full_us: number; direct_us: number; overhead_us: number; ratio: number } | { skipped: string }> = {};
for (const name of engineNames()) {
  let evaluator: Evaluator;
  try {
    evaluator = await createEvaluator(policy, name);
  } catch (error) {
    engines[name] = { skipped: (error as Error).message };
    continue;
  }
  try {
    const { full, direct } = await fullPath(evaluator);
    engines[name] = { full_us: full, direct_us: direct, overhead_us: full - direct, ratio: full / direct };
  } catch (error) {
    engines[name] = { skipped: (error as Error).message };
  } finally {
    await evaluator.close();
  }
}
// The floor the token alone sets: one HMAC-SHA256 sign and one verify of a representative token.
const signer = new TokenSigner();
const claims = {
  id: TokenSigner.newId(), tenant: 'bench', session: 'ses_0123456789abcdef', run: 'run_0123456789abcdef', intent: `sha256:${'a'.repeat(64)}`,
  plan: `sha256:${'b'.repeat(64)}`, step: 0, action: 'read_file', tool: 'fs.read', params: `sha256:${'c'.repeat(64)}`,
  policy: `sha256:${'d'.repeat(64)}`, iat: 0, exp: 1,
};
const tokenFloor = await measure(() => signer.verify(signer.sign(claims)));
const peer = pythonPeer();
const result = {
  bench: 'runtime',
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  method: `median over ${BATCHES} batches of the mean of ${BATCH} sequential calls; full path = Run.executeStep (decide, issue HMAC token, verify, consume, run, session record, 4 audit events to a memory sink)`,
  target_native_us: 5,
  token_sign_verify_us: tokenFloor,
  engines,
  python_ape_1_0_2: peer,
};
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'runtime.json'), `${JSON.stringify(result, null, 2)}\n`);
const fmt = (n: number | undefined) => (n === undefined ? '-' : n.toFixed(2));
const rows = Object.entries(engines).map(([name, r]) =>
  'skipped' in r ? `| ${name} | skipped: ${r.skipped} | | | |` : `| ${name} | ${fmt(r.full_us)} | ${fmt(r.direct_us)} | ${fmt(r.overhead_us)} | ${r.ratio.toFixed(0)}x |`,
);
const md = `# Runtime overhead per tool call

${result.method}. Node ${result.node}, ${result.cpu}, ${result.date}.

| engine | full path (µs) | direct call (µs) | overhead (µs) | ratio |
|---|---|---|---|---|
${rows.join('\n')}

Target: under ${result.target_native_us} µs median with the native engine. Signing and verifying one token alone
(two HMAC-SHA256 over ~400 bytes with node:crypto) takes ${fmt(tokenFloor)} µs on this machine.

Python APE 1.0.2 peer (${peer.status}): decide + issue + gate ${fmt(peer.reused_action_us)} µs per call with the Action object built once
(${fmt(peer.full_us)} µs when the Action is built per call, as its runtime does: Action() validates with jsonschema each time);
direct call ${fmt(peer.direct_us)} µs. Its tokens are not signed and not bound to parameters, tool or tenant.
`;
writeFileSync(join(here, 'results', 'runtime.md'), md);
process.stdout.write(md);
