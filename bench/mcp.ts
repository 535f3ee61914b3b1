/** Proxy overhead per tools/call: `ape mcp-proxy` in front of server-everything vs calling the server directly (stdio and Streamable HTTP). */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { fmt, machine, writeResults } from './lib.js';

const root = new URL('..', import.meta.url).pathname;
const everything = join(root, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const policyFile = join(root, 'bench/policies/mcp-everything.yaml');
// The proxy as it ships: the package built (tsc, as `npm pack` does) and run through its bin, not under tsx.
execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
const ape = [process.execPath, join(root, 'bin/ape.js')];
const { Ape } = (await import(join(root, 'dist/agent/index.js'))) as typeof import('../src/agent/index.js');
const ROUNDS = 20;
const PER_ROUND = 100;

interface Stats {
  median_ms: number;
  p99_ms: number;
  samples: number;
}

function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
  return { median_ms: round(at(0.5) / 1e6), p99_ms: round(at(0.99) / 1e6), samples: s.length };
}

function round(n: number): number {
  return Math.round(n * 10000) / 10000;
}

async function time(client: Client, n: number, into: number[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint();
    const r = await client.callTool({ name: 'echo', arguments: { message: `m${i}` } });
    into.push(Number(process.hrtime.bigint() - start));
    if (r.isError) throw new Error(`echo failed: ${JSON.stringify(r.content)}`);
  }
}

/** Alternates the paths' rounds so that load drift hits them alike. */
async function compare<K extends string>(clients: Record<K, Client>): Promise<Record<K, Stats>> {
  const names = Object.keys(clients) as K[];
  for (const name of names) await time(clients[name], 200, []);
  const samples = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>;
  for (let r = 0; r < ROUNDS; r++) for (const name of names) await time(clients[name], PER_ROUND, samples[name]);
  return Object.fromEntries(names.map((n) => [n, stats(samples[n])])) as Record<K, Stats>;
}

async function stdioClient(command: string, args: string[]): Promise<Client> {
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(new StdioClientTransport({ command, args, cwd: root, stderr: 'ignore' }));
  return client;
}

async function httpClient(url: string): Promise<Client> {
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

/** Starts a child that prints a line matching `pattern` on stdout or stderr; returns the match and the child. */
function startChild(command: string, args: string[], pattern: RegExp): Promise<{ match: RegExpMatchArray; stop: () => void }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    let seen = '';
    const look = (chunk: Buffer) => {
      seen += chunk.toString();
      const m = pattern.exec(seen);
      if (m) resolve({ match: m, stop: () => child.kill('SIGTERM') });
    };
    child.stdout.on('data', look);
    child.stderr.on('data', look);
    child.once('exit', (code) => reject(new Error(`${command} exited with ${code}: ${seen}`)));
  });
}

/**
 * The APE share: `ape.call` around a no-op, in process (decide, token, gate, audit), against the no-op alone;
 * back to back, and with the process idle for 1 ms before each call (as between a proxy's requests).
 */
async function decisionPath(): Promise<{ ape_call_us: number; ape_call_after_idle_us: number; direct_us: number }> {
  const a = await Ape.fromPolicy(policyFile);
  const noop = async (p: object) => p;
  const run = async (fn: () => Promise<unknown>, idle: boolean) => {
    const samples: number[] = [];
    for (let i = 0; i < 3000; i++) {
      if (idle) await new Promise((resolve) => setTimeout(resolve, 1));
      const start = process.hrtime.bigint();
      await fn();
      samples.push(Number(process.hrtime.bigint() - start));
    }
    return stats(samples.slice(500)).median_ms * 1000;
  };
  const call = () => a.call('echo', { message: 'm' }, noop, { tool: 'echo' });
  const direct_us = await run(() => noop({ message: 'm' }), false);
  const ape_call_us = await run(call, false);
  const ape_call_after_idle_us = await run(call, true);
  await a.close();
  return { ape_call_us, ape_call_after_idle_us, direct_us };
}

const load = loadavg().map((l) => l.toFixed(1)).join(' ');
const direct = await stdioClient(process.execPath, [everything, 'stdio']);
const relay = await stdioClient(process.execPath, [join(root, 'bench/mcp-relay.mjs'), process.execPath, everything, 'stdio']);
const proxied = await stdioClient(ape[0] as string, [...ape.slice(1), 'mcp-proxy', '--policy', policyFile, '--', process.execPath, everything, 'stdio']);
const stdio = await compare({ direct, relay, proxied });
await direct.close();
await relay.close();
await proxied.close();

const server = await startChild(process.execPath, [join(root, 'bench/mcp-everything-http.mjs')], /ready (http:\S+)/);
const jsonServer = await startChild(process.execPath, [join(root, 'bench/mcp-everything-http.mjs'), '--json'], /ready (http:\S+)/);
const proxy = await startChild(ape[0] as string, [...ape.slice(1), 'mcp-proxy', '--policy', policyFile, '--listen', '127.0.0.1:0', '--', process.execPath, everything, 'stdio'], /serving (http:\S+)/);
const directHttp = await httpClient(server.match[1] as string);
const directJson = await httpClient(jsonServer.match[1] as string);
const proxiedHttp = await httpClient(proxy.match[1] as string);
const httpAll = await compare({ direct: directHttp, json: directJson, proxied: proxiedHttp });
const http = { direct: httpAll.direct, proxied: httpAll.proxied };
const httpJson = { direct: httpAll.json, proxied: httpAll.proxied };
await directHttp.close();
await directJson.close();
await proxiedHttp.close();
server.stop();
jsonServer.stop();
proxy.stop();

const share = await decisionPath();
const row = (name: string, r: { direct: Stats; proxied: Stats }) =>
  `| ${name} | ${r.direct.median_ms.toFixed(3)} | ${r.proxied.median_ms.toFixed(3)} | **${(r.proxied.median_ms - r.direct.median_ms).toFixed(3)}** | ${r.direct.p99_ms.toFixed(3)} | ${r.proxied.p99_ms.toFixed(3)} | ${(r.proxied.p99_ms - r.direct.p99_ms).toFixed(3)} |`;
/**
 * Optional comparison with an earlier run: APE_BENCH_MCP_BEFORE names the mcp.json it wrote (e.g. on the
 * commit before a change, just before this run), APE_BENCH_MCP_BEFORE_LABEL says what it was.
 */
type Paths = { direct: Stats; proxied: Stats };
const beforeFile = process.env['APE_BENCH_MCP_BEFORE'];
const before = beforeFile
  ? {
      label: process.env['APE_BENCH_MCP_BEFORE_LABEL'] ?? beforeFile,
      ...(JSON.parse(readFileSync(beforeFile, 'utf8')) as { load: string; stdio: Paths; http: Paths; http_json?: Paths; ape_share: { ape_call_us: number; ape_call_after_idle_us?: number; direct_us: number } }),
    }
  : undefined;
const beforeText = before
  ? `
Before (${before.label}: the same bench script, run just before this one on that commit's src; load average ${before.load} at its start):

| transport | direct median (ms) | proxied median (ms) | added median (ms) | direct p99 (ms) | proxied p99 (ms) | added p99 (ms) |
|---|---|---|---|---|---|---|
${row('stdio', before.stdio)}
${row(before.http_json ? 'Streamable HTTP, vs the SDK server as it ships (SSE answers)' : 'Streamable HTTP', before.http)}
${before.http_json ? `${row('Streamable HTTP, vs the SDK server in JSON-response mode', before.http_json)}\n` : ''}
\`ape.call\` around a no-op tool then: ${fmt(before.ape_share.ape_call_us * 1000)} median back to back${before.ape_share.ape_call_after_idle_us !== undefined ? `, ${fmt(before.ape_share.ape_call_after_idle_us * 1000)} after 1 ms idle` : ''}.
`
  : '';
const m = machine();
const markdown = `# MCP proxy overhead per tools/call

\`tools/call echo\` of \`@modelcontextprotocol/server-everything\` from the official SDK client, each call timed alone;
${ROUNDS} alternating rounds of ${PER_ROUND} calls per path after 200 warm-up calls (${ROUNDS * PER_ROUND} samples per path).
Node ${m['node']}, ${m['cpu']}, ${m['cores']} cores, load average ${load} at the start, ${m['date']}.

- **stdio**: direct = client ⇄ server over stdio; proxied = client ⇄ \`ape mcp-proxy\` ⇄ server (two stdio hops, two processes);
  relay = client ⇄ a process that only copies bytes both ways ⇄ server (\`bench/mcp-relay.mjs\`): the floor of any proxy process.
- **HTTP**: direct = client ⇄ the server's own logic behind the SDK's Streamable HTTP transport on 127.0.0.1
  (\`bench/mcp-everything-http.mjs\`), as it ships (every answer an SSE stream) and in its JSON-response mode
  (\`enableJsonResponse\`, the SDK's fastest); proxied = client ⇄ \`ape mcp-proxy --listen 127.0.0.1:…\` ⇄ server over stdio.
  The proxy answers a plain tools/call with one JSON response (an SSE stream only when it must ask for approval first),
  so the SDK's JSON-response mode is the like-for-like baseline; the target is judged against it.
- The proxy runs as it ships: the package built with \`tsc\` (this script runs \`npm run build\` first) and started through \`bin/ape.js\`.
- The proxy decides every call with the native engine through \`ape.call\` (decision, single-use token, gate, audit, provenance label),
  validates the arguments against the tool's input schema and checks its schema pin. A tools/call without a progress token takes
  its direct path: read off the client's transport, sent to the server as one JSON-RPC request, the raw result checked once
  (shape, output schema) and passed on; stdio is read as JSON-RPC lines (plain requests and results checked by hand).

| transport | direct median (ms) | proxied median (ms) | added median (ms) | direct p99 (ms) | proxied p99 (ms) | added p99 (ms) |
|---|---|---|---|---|---|---|
${row('stdio', stdio)}
${row('Streamable HTTP, vs the SDK server as it ships (SSE answers)', http)}
${row('Streamable HTTP, vs the SDK server in JSON-response mode', httpJson)}

A bare relay process (stdio) adds **${(stdio.relay.median_ms - stdio.direct.median_ms).toFixed(3)} ms** at the median by itself (one more pipe each way,
two more process wake-ups): no proxy process can add less. The proxy adds ${(stdio.proxied.median_ms - stdio.relay.median_ms).toFixed(3)} ms more than the relay.

APE's own share, in process: \`ape.call\` around a no-op tool ${fmt(share.ape_call_us * 1000)} median back to back,
${fmt(share.ape_call_after_idle_us * 1000)} when the process was idle for 1 ms before each call (its caches cold, as in a proxy
between requests), vs ${fmt(share.direct_us * 1000)} for the no-op alone.

A negative figure: the client reads the proxy's one JSON answer faster than the SDK server's SSE stream, by more than the
proxy's hop and decision cost. Target: under 0.3 ms added at the median. The machine is shared: wall-clock figures move with its load.
${beforeText}`;
writeResults(
  'mcp',
  {
    machine: m,
    load,
    rounds: ROUNDS,
    per_round: PER_ROUND,
    stdio,
    http,
    http_json: httpJson,
    ape_share: share,
    ...(before ? { before: { label: before.label, load: before.load, stdio: before.stdio, http: before.http, ...(before.http_json ? { http_json: before.http_json } : {}), ape_share: before.ape_share } } : {}),
  },
  markdown,
);
console.log(markdown);
