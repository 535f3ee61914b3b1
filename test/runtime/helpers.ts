/** Shared fixtures of the runtime tests: a policy over a temp folder, real file and HTTP tools, a runtime. */
import { mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilePolicySource } from '../../src/compiler/compile.js';
import { NativeEvaluator } from '../../src/evaluator.js';
import { ApeRuntime, MemorySink, type Run, type RuntimeOptions, type Session, type ToolDefinition } from '../../src/runtime/index.js';

/** A policy confining file tools to `root` and HTTP to loopback with user-provided URLs. */
export function policyText(root: string, extra = ''): string {
  return `
name: runtime_test
default_decision: deny
rules:
  - id: read-root
    action: [read_file, list_directory]
    decision: allow
    conditions:
      path: { prefix: ["${root}/"] }
  - id: write-root
    action: write_file
    decision: allow
    conditions:
      path: { prefix: ["${root}/"] }
  - id: delete-escalates
    action: delete_file
    decision: escalate
    conditions:
      path: { prefix: ["${root}/"] }
  - id: no-secrets
    action: [read_file, write_file, delete_file]
    decision: deny
    conditions:
      path: { allowlist: ["*.secret"] }
  - id: fetch-loopback
    action: http_get
    decision: allow
    conditions:
      url.host: { equals: 127.0.0.1 }
      url: { provenance: [user, system] }
  - id: risk-cap
    action: write_file
    decision: deny
    conditions:
      context.session.cumulative_risk: { min: 40 }
${extra}`;
}

/** Counts of real tool invocations, by tool name. */
export type RunLog = { tool: string; params: unknown }[];

/** Real tools over the file system and HTTP; every invocation is logged. */
export function realTools(log: RunLog): ToolDefinition[] {
  const logged = (name: string, action: string, fn: (p: Record<string, unknown>) => unknown): ToolDefinition => ({
    name,
    action,
    run: (params) => {
      log.push({ tool: name, params });
      return fn(params as Record<string, unknown>);
    },
  });
  return [
    logged('fs.read', 'read_file', (p) => readFileSync(p['path'] as string, 'utf8')),
    logged('fs.list', 'list_directory', (p) => readdirSync(p['path'] as string).sort()),
    logged('fs.write', 'write_file', (p) => {
      writeFileSync(p['path'] as string, p['content'] as string);
      return { written: (p['content'] as string).length };
    }),
    logged('fs.delete', 'delete_file', (p) => {
      unlinkSync(p['path'] as string);
      return { deleted: p['path'] };
    }),
    logged('http.get', 'http_get', async (p) => {
      const response = await fetch(p['url'] as string);
      return { status: response.status, body: await response.text() };
    }),
  ];
}

/** A temporary folder, removed by `cleanup`. */
export function tempRoot(): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'ape-runtime-'));
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** A loopback HTTP server answering `hello <path>`; `hits` counts requests. */
export async function loopbackServer(): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`hello ${req.url ?? ''}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits: () => hits,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}

/** A fake clock tests move by hand. */
export function fakeClock(start = Date.UTC(2026, 0, 1)): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

/** A runtime over the test policy with real tools and a memory audit sink. */
export function makeRuntime(root: string, options: Partial<RuntimeOptions> = {}, extraPolicy = ''): { ape: ApeRuntime; log: RunLog; audit: MemorySink; evaluator: NativeEvaluator } {
  const evaluator = new NativeEvaluator(compilePolicySource(policyText(root, extraPolicy)));
  const audit = new MemorySink();
  const ape = new ApeRuntime({ evaluator, audit: [audit], ...options });
  const log: RunLog = [];
  for (const tool of realTools(log)) ape.registerTool(tool);
  return { ape, log, audit, evaluator };
}

/** The standard intent for the test folder. */
export function intentFor(root: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    description: 'work in the temp folder',
    allowed_actions: ['read_file', 'list_directory', 'write_file', 'http_get'],
    escalation_actions: ['delete_file'],
    scope: { paths: [root], hosts: ['127.0.0.1'] },
    ...extra,
  };
}

/** A run in `session` (a new one of tenant `acme` by default): `intent` set, a plan of `steps` approved, execution started. */
export async function startedRun(ape: ApeRuntime, intent: unknown, steps: unknown[], session?: Session | Promise<Session>): Promise<Run> {
  const run = await ape.createRun(await (session ?? ape.openSession({ tenant: 'acme' })));
  await run.setIntent(intent);
  await run.approvePlan({ steps });
  run.start();
  return run;
}

/** The plan that reads `file` (a link in it) and then fetches a URL filled in at run time. */
export function readThenFetch(file: string): unknown[] {
  return [
    { action: 'read_file', tool: 'fs.read', parameters: { path: file } },
    { action: 'http_get', tool: 'http.get', inputs: ['url'] },
  ];
}
