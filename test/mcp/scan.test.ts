import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bufferIO } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';
import { checkPolicySource } from '../../src/index.js';
import { targetNames } from '../../src/targets.js';
import { Ape } from '../../src/agent/index.js';
import { classifyTool, formatScanDiagnostic, listenHttp, McpProxy, readMcpConfig, scanMcp } from '../../src/mcp/index.js';
import { ROOT_DIR, realServer, serverScript, startProxy, tempDir, text } from './helpers.js';

const CONFIGS = join(ROOT_DIR, 'test/mcp/fixtures/configs');
const env = { GITHUB_TOKEN: 'gh', API_KEY: 'k', DATABASE_URL: 'postgres://db/app', SLACK_BOT_TOKEN: 'xoxb' };

async function ape(...args: string[]) {
  const io = bufferIO();
  const code = await runCli(args, io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

describe('reading MCP client configurations', () => {
  it('Claude Desktop: mcpServers, no variable expansion', () => {
    const r = readMcpConfig(join(CONFIGS, 'claude-desktop/claude_desktop_config.json'), { env });
    expect(r.format).toBe('claude-desktop');
    expect(r.diagnostics).toEqual([]);
    expect(r.servers.map((s) => [s.name, s.transport, s.command])).toEqual([['filesystem', 'stdio', 'npx'], ['github', 'stdio', 'docker']]);
    expect(r.servers[1]?.env).toEqual({ GITHUB_PERSONAL_ACCESS_TOKEN: '${GITHUB_TOKEN}' });
    expect(r.servers[0]?.source).toMatchObject({ line: 3, column: 5 });
  });

  it('Claude Code (.mcp.json): type stdio/http/sse, ${VAR} and ${VAR:-default}', () => {
    const r = readMcpConfig(join(CONFIGS, 'claude-code/.mcp.json'), { env });
    expect(r.format).toBe('claude-code');
    expect(r.diagnostics).toEqual([]);
    const [memory, api, events] = r.servers;
    expect(memory?.env).toEqual({ MEMORY_FILE_PATH: '/var/tmp/memory.jsonl' });
    expect(api).toMatchObject({ transport: 'http', url: 'https://mcp.example.com/mcp', headers: { Authorization: 'Bearer k' } });
    expect(events).toMatchObject({ transport: 'sse', url: 'https://events.example.com/sse' });
    const unset = readMcpConfig(join(CONFIGS, 'claude-code/.mcp.json'), { env: {} });
    expect(unset.diagnostics.map(formatScanDiagnostic)).toEqual([
      `${join(CONFIGS, 'claude-code/.mcp.json')}:12:37 warning config-variable server 'api': environment variable API_KEY is not set and has no default`,
    ]);
  });

  it('Cursor (.cursor/mcp.json): ${env:X} and ${workspaceFolder} (the folder holding .cursor)', () => {
    const r = readMcpConfig(join(CONFIGS, 'cursor/.cursor/mcp.json'), { env });
    expect(r.format).toBe('cursor');
    expect(r.servers[0]?.args.at(-1)).toBe('postgres://db/app');
    expect(r.servers[1]?.args.at(-1)).toBe(join(CONFIGS, 'cursor/src'));
    expect(r.servers[2]).toMatchObject({ transport: 'http', url: 'https://remote.example.com/mcp' });
    expect(r.diagnostics.map((d) => `${d.line}:${d.column} ${d.code}`)).toEqual(['11:82 config-variable']);
  });

  it('VS Code (.vscode/mcp.json): JSONC, servers, inputs (prompted, so reported and left as written)', () => {
    const r = readMcpConfig(join(CONFIGS, 'vscode/.vscode/mcp.json'), { env });
    expect(r.format).toBe('vscode');
    expect(r.servers.map((s) => [s.name, s.transport])).toEqual([['fetch', 'stdio'], ['github', 'http']]);
    expect(r.servers[0]?.cwd).toBe(join(CONFIGS, 'vscode'));
    expect(r.servers[1]?.headers).toEqual({ Authorization: 'Bearer ${input:gh-token}' });
    expect(r.diagnostics.map(formatScanDiagnostic)).toEqual([
      `${join(CONFIGS, 'vscode/.vscode/mcp.json')}:17:37 warning config-variable server 'github': input 'gh-token' is prompted for by VS Code (GitHub personal access token); it is left as written`,
    ]);
  });

  it('Windsurf (mcp_config.json): serverUrl', () => {
    const r = readMcpConfig(join(CONFIGS, 'windsurf/mcp_config.json'), { env });
    expect(r.format).toBe('windsurf');
    expect(r.servers[0]?.env).toEqual({ SLACK_BOT_TOKEN: 'xoxb' });
    expect(r.servers[1]).toMatchObject({ name: 'docs', transport: 'http', url: 'https://docs.example.com/mcp' });
  });

  it('unreadable and malformed files are diagnostics with file and position, never a crash', () => {
    const lines = (file: string) => readMcpConfig(join(CONFIGS, file), { env }).diagnostics.map((d) => formatScanDiagnostic(d).replace(`${CONFIGS}/`, ''));
    expect(lines('broken/syntax.json')).toEqual(["broken/syntax.json:3:29 error config-syntax ',' is expected"]);
    expect(lines('broken/claude_desktop_config.json')).toEqual(['broken/claude_desktop_config.json:2:3 error config-syntax comments are not allowed in this format']);
    expect(lines('broken/not-object.json')).toEqual(['broken/not-object.json:1:1 error config-shape the configuration must be a JSON object']);
    expect(lines('broken/nope.json')).toEqual(['broken/nope.json:1:1 error config-unreadable cannot read the configuration: no such file']);
    expect(lines('broken/shape.json')).toEqual([
      "broken/shape.json:4:46 error config-shape server 'bad-args': 'args' must be an array of strings",
      "broken/shape.json:5:27 error config-shape server 'bad-type': unknown type 'websocket'; expected stdio, http or sse",
      "broken/shape.json:6:5 error config-shape server 'empty' has neither 'command' nor 'url'",
    ]);
    expect(readMcpConfig(join(CONFIGS, 'broken/shape.json')).servers.map((s) => s.name)).toEqual(['good']);
  });
});

describe('classification: annotations are hints, names are guesses', () => {
  it('read-only allowed, writes escalated, destructive escalated, destructive open-world denied; MCP defaults fill gaps', () => {
    expect(classifyTool({ name: 'a', annotations: { readOnlyHint: true, openWorldHint: false } })).toMatchObject({ decision: 'allow', basis: 'annotations', openWorld: false });
    expect(classifyTool({ name: 'a', annotations: { readOnlyHint: true } })).toMatchObject({ decision: 'allow', openWorld: true, risk: 'moderate' });
    expect(classifyTool({ name: 'a', annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false } })).toMatchObject({ decision: 'escalate' });
    expect(classifyTool({ name: 'a', annotations: { destructiveHint: true, openWorldHint: false } })).toMatchObject({ decision: 'escalate', risk: 'high' });
    expect(classifyTool({ name: 'a', annotations: { readOnlyHint: false } })).toMatchObject({ decision: 'deny', risk: 'critical' });
    expect(classifyTool({ name: 'get_weather' })).toMatchObject({ decision: 'allow', basis: 'name-guess' });
    expect(classifyTool({ name: 'deleteRepo' })).toMatchObject({ decision: 'escalate', basis: 'name-guess' });
  });
});

describe('ape mcp-scan', () => {
  it('without --connect: every format read, servers guessed from their names and marked as guesses, a valid deny-all policy', async () => {
    const dir = tempDir('ape-scan-');
    const out = join(dir, 'starting.yaml');
    const files = ['claude-desktop/claude_desktop_config.json', 'claude-code/.mcp.json', 'cursor/.cursor/mcp.json', 'vscode/.vscode/mcp.json', 'windsurf/mcp_config.json'].map((f) => join(CONFIGS, f));
    const r = await ape('mcp-scan', ...files, '-o', out);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("info name-guess server 'postgres': the name suggests a data store (a guess from its name: database_write, risk moderate); run with --connect to list its tools");
    expect((await ape('validate', out)).code).toBe(0);
    const json = JSON.parse((await ape('mcp-scan', ...files, '--json')).stdout) as { servers: { name: string; format: string; guess?: object }[] };
    expect(new Set(json.servers.map((s) => s.format))).toEqual(new Set(['claude-desktop', 'claude-code', 'cursor', 'vscode', 'windsurf']));
    expect(json.servers.every((s) => s.guess !== undefined)).toBe(true);
  });

  it('a malformed file: exit 1, its diagnostics on stderr, the policy still written from the rest', async () => {
    const r = await ape('mcp-scan', join(CONFIGS, 'broken/syntax.json'), join(CONFIGS, 'claude-desktop/claude_desktop_config.json'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("syntax.json:3:29 error config-syntax ',' is expected");
    expect(r.stdout).toMatch(/^# Starting policy written by `ape mcp-scan`/);
    expect(checkPolicySource(r.stdout, 'stdout.yaml').policy).toBeDefined();
  });

  it('--connect against server-filesystem, server-memory and server-everything: real tools, schemas, annotations; the policy validates and compiles to every target', async () => {
    const dir = tempDir('ape-scan-connect-');
    const config = join(dir, '.mcp.json');
    writeFileSync(config, JSON.stringify({
      mcpServers: {
        fs: { type: 'stdio', command: '${APE_NODE}', args: [serverScript('filesystem'), '${SCAN_ROOT:-/nonexistent}'] },
        memory: { command: '${APE_NODE}', args: [serverScript('memory')], env: { MEMORY_FILE_PATH: `${dir}/memory.jsonl` } },
        everything: { command: '${APE_NODE}', args: [serverScript('everything'), 'stdio'] },
      },
    }));
    const result = await scanMcp([config], { connect: true, prefixByServer: true, env: { APE_NODE: process.execPath, SCAN_ROOT: dir } });
    expect(result.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
    expect(result.servers.every((s) => s.connected)).toBe(true);
    const byAction = new Map(result.tools.map((t) => [t.action, t]));
    expect(byAction.get('fs.read_text_file')?.classification).toMatchObject({ decision: 'allow', basis: 'annotations' });
    expect(byAction.get('fs.read_text_file')?.parameters).toMatchObject({ properties: { path: { type: 'string', format: 'path' } } });
    expect(byAction.get('fs.write_file')?.classification.decision).toBe('escalate');
    expect(byAction.get('memory.delete_entities')?.classification.decision).toBe('escalate');
    expect(byAction.get('everything.gzip-file-as-resource')?.classification).toMatchObject({ decision: 'escalate', openWorld: true });
    expect(byAction.get('everything.get-sum')?.inputSchema).toMatchObject({ properties: { a: { type: 'number' } } });
    expect(result.policyText).toContain('escalated because the server says it is destructive (destructiveHint=true) in a closed world (openWorldHint=false)');
    const checked = checkPolicySource(result.policyText, 'scanned.yaml');
    expect(checked.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);

    const policyFile = join(dir, 'scanned.yaml');
    writeFileSync(policyFile, result.policyText);
    expect((await ape('validate', policyFile)).code).toBe(0);
    for (const target of targetNames()) {
      const needsDir = ['bundle', 'wasm'].includes(target);
      const r = await ape('compile', policyFile, '--target', target, ...(needsDir ? ['-o', join(dir, `out-${target}`)] : []));
      expect(r.code, `${target}: ${r.stderr}`).toBe(0);
    }
  });

  it('--connect to a Streamable HTTP server (a Claude Code `type: http` entry): tools listed over HTTP', async () => {
    const ape = await Ape.fromPolicy('name: p\ndefault_decision: deny\n');
    const proxy = await McpProxy.start({ ape, upstream: realServer('memory'), upstreamStderr: 'ignore' });
    const endpoint = await listenHttp(proxy, { host: '127.0.0.1', port: 0 });
    try {
      const dir = tempDir('ape-scan-http-');
      const config = join(dir, '.mcp.json');
      writeFileSync(config, JSON.stringify({ mcpServers: { remote: { type: 'http', url: '${MEM_URL}' } } }));
      const result = await scanMcp([config], { connect: true, env: { MEM_URL: endpoint.url } });
      expect(result.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
      expect(result.servers[0]).toMatchObject({ connected: true, entry: { transport: 'http', url: endpoint.url } });
      expect(result.tools.map((t) => t.action)).toContain('read_graph');
      expect(result.tools.find((t) => t.action === 'delete_entities')?.annotations).toMatchObject({ destructiveHint: true });
    } finally {
      await endpoint.close();
      await proxy.close();
      await ape.close();
    }
  });

  it('--connect to a server that does not start: an error diagnostic at its entry, a guess instead, exit 1', async () => {
    const dir = tempDir('ape-scan-dead-');
    const config = join(dir, 'claude_desktop_config.json');
    writeFileSync(config, JSON.stringify({ mcpServers: { ghost: { command: join(dir, 'no-such-server') } } }, null, 2));
    const r = await ape('mcp-scan', config, '--connect', '--timeout', '5000');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^${config}:3:5 error server-unreachable server 'ghost': cannot connect to the MCP server`, 'm'));
  });
});

describe('the scanned policy drives the proxy', () => {
  it('scan --connect --prefix-by-server, then the proxy with --prefix: pins match, reads allowed, writes escalated, a changed pin refused', async () => {
    const dir = tempDir('ape-scan-proxy-');
    writeFileSync(join(dir, 'a.txt'), 'scanned');
    const config = join(dir, 'claude_desktop_config.json');
    writeFileSync(config, JSON.stringify({ mcpServers: { fs: { command: process.execPath, args: [serverScript('filesystem'), dir] } } }));
    const scanned = await scanMcp([config], { connect: true, prefixByServer: true });
    const h = await startProxy(scanned.policyText, realServer('filesystem', dir), { proxy: { prefix: 'fs' } });
    try {
      expect(text(await h.call('read_text_file', { path: join(dir, 'a.txt') }))).toBe('scanned');
      const write = await h.call('write_file', { path: join(dir, 'b.txt'), content: 'x' });
      expect(write.isError).toBe(true);
      expect(text(write)).toContain('cannot be asked');
      expect(existsSync(join(dir, 'b.txt'))).toBe(false);
    } finally {
      await h.close();
    }
    const tampered = scanned.policyText.replace(/(fs\.read_text_file:\n(?:\s+.*\n)*?\s+schema_sha256: )sha256:[0-9a-f]+/, '$1sha256:0000');
    expect(tampered).not.toBe(scanned.policyText);
    const t = await startProxy(tampered, realServer('filesystem', dir), { proxy: { prefix: 'fs' } });
    try {
      const r = await t.call('read_text_file', { path: join(dir, 'a.txt') });
      expect(r.isError).toBe(true);
      expect(text(r)).toContain('changed since the policy was written');
    } finally {
      await t.close();
    }
  });
});
