import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ape } from '../../src/agent/index.js';
import { listenHttp, McpProxy, McpSetupError } from '../../src/mcp/index.js';
import { realServer, startProxy, tempDir, text, type ProxyHarness } from './helpers.js';

describe('mcp-proxy in front of @modelcontextprotocol/server-memory', () => {
  const dir = tempDir('ape-mcp-memory-');
  const memoryFile = join(dir, 'memory.jsonl');
  const policy = `
name: mcp_memory
default_decision: deny
actions:
  - { id: mem.read_graph, category: database_read, risk_level: low }
  - { id: mem.search_nodes, category: database_read, risk_level: low }
  - { id: mem.open_nodes, category: database_read, risk_level: low }
  - { id: mem.create_entities, category: database_write, risk_level: moderate }
  - { id: mem.add_observations, category: database_write, risk_level: moderate }
  - { id: mem.delete_entities, category: database_write, risk_level: high }
  - { id: mem.delete_observations, category: database_write, risk_level: high }
  - { id: mem.delete_relations, category: database_write, risk_level: high }
rules:
  - { id: reads, action: [mem.read_graph, mem.search_nodes, mem.open_nodes], decision: allow }
  - { id: writes-need-approval, action: [mem.create_entities, mem.add_observations], decision: escalate }
  - { id: no-deletes, action: [mem.delete_entities, mem.delete_observations, mem.delete_relations], decision: deny }
`;
  let h: ProxyHarness;
  let approve = true;
  beforeAll(async () => {
    h = await startProxy(policy, { ...realServer('memory'), env: { MEMORY_FILE_PATH: memoryFile } }, {
      proxy: { prefix: 'mem', hideDenied: true },
      answer: () => (approve ? { action: 'accept', content: { approve: true } } : { action: 'decline' }),
    });
  });
  afterAll(async () => h.close());

  it("--prefix: the action id is '<p>.<tool>' while the tool keeps its name", async () => {
    const result = await h.call('read_graph');
    expect(result.isError).toBeFalsy();
    expect(h.audit.events.find((e) => e.type === 'execution.completed')).toMatchObject({ action: 'mem.read_graph', tool: 'read_graph' });
  });

  it('--hide-denied leaves out the tools denied outright, keeps escalated and conditional ones', async () => {
    const names = (await h.client.listTools()).tools.map((t) => t.name);
    expect(names).not.toContain('delete_entities');
    expect(names).not.toContain('delete_relations');
    expect(names).toContain('create_entities');
    expect(names).toContain('read_graph');
    // create_relations is named by no rule: denied by default, so hidden too.
    expect(names).not.toContain('create_relations');
  });

  it('a hidden tool is still refused when called by name', async () => {
    const result = await h.call('delete_entities', { entityNames: ['x'] });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain("denied by rule 'no-deletes'");
  });

  it('an escalated write runs after approval, and not after a decline', async () => {
    approve = true;
    const ok = await h.call('create_entities', { entities: [{ name: 'alice', entityType: 'person', observations: ['likes tea'] }] });
    expect(ok.isError).toBeFalsy();
    approve = false;
    const no = await h.call('create_entities', { entities: [{ name: 'mallory', entityType: 'person', observations: [] }] });
    expect(no.isError).toBe(true);
    const graph = text(await h.call('read_graph'));
    expect(graph).toContain('alice');
    expect(graph).not.toContain('mallory');
    expect(existsSync(memoryFile) ? readFileSync(memoryFile, 'utf8') : '').not.toContain('mallory');
  });
});

describe('mcp-proxy in front of @modelcontextprotocol/server-everything', () => {
  const policy = `
name: mcp_everything
default_decision: deny
actions:
  - { id: echo, category: compute, risk_level: minimal, parameters: { type: object, properties: { message: { type: string } }, required: [message] } }
  - { id: get-sum, category: compute, risk_level: minimal, parameters: { type: object, properties: { a: { type: number }, b: { type: number } }, required: [a, b] } }
rules:
  - { id: echo, action: echo, decision: allow }
  - id: small-sums
    action: get-sum
    decision: allow
    conditions: { a: { max: 100 }, b: { max: 100 } }
`;
  let h: ProxyHarness;
  beforeAll(async () => {
    h = await startProxy(policy, realServer('everything', 'stdio'));
  });
  afterAll(async () => h.close());

  it('allowed calls pass; conditions decide on the exact arguments', async () => {
    expect(text(await h.call('echo', { message: 'hi' }))).toContain('hi');
    expect(text(await h.call('get-sum', { a: 2, b: 3 }))).toContain('5');
    const big = await h.call('get-sum', { a: 2, b: 300 });
    expect(big.isError).toBe(true);
    expect(text(big)).toContain("rule 'small-sums'");
  });

  it('the same decisions with the cedar engine', async () => {
    const cedar = await startProxy(policy, realServer('everything', 'stdio'), { ape: { engine: 'cedar' } });
    try {
      expect(text(await cedar.call('get-sum', { a: 2, b: 3 }))).toContain('5');
      const big = await cedar.call('get-sum', { a: 2, b: 300 });
      expect(big.isError).toBe(true);
      expect(text(big)).toContain("action 'get-sum' denied by default");
      expect(big._meta?.['ape/refused']).toBe('APE_POLICY_DENY');
    } finally {
      await cedar.close();
    }
  });

  it('arguments are validated against the tool input schema before any decision', async () => {
    const bad = await h.call('get-sum', { a: 'two', b: 3 });
    expect(bad.isError).toBe(true);
    expect(text(bad)).toContain("arguments of 'get-sum' do not match its input schema: /a must be number");
    expect(bad._meta?.['ape/refused']).toBe('APE_MCP_TOOL_REFUSED');
  });

  it('tools the policy does not name are refused (gzip-file-as-resource would fetch a URL)', async () => {
    const r = await h.call('gzip-file-as-resource', { name: 'x.gz', data: 'https://example.com/' });
    expect(r.isError).toBe(true);
  });

  it('resources and prompts pass through unchanged', async () => {
    const direct = new Client({ name: 'direct', version: '1' });
    const { connectUpstream } = await import('../../src/mcp/index.js');
    const up = await connectUpstream(realServer('everything', 'stdio'), { stderr: 'ignore' });
    try {
      const viaProxy = await h.client.listResources();
      const viaServer = await up.client.listResources();
      expect(viaProxy.resources.map((r) => r.uri)).toEqual(viaServer.resources.map((r) => r.uri));
      const uri = viaProxy.resources[0]?.uri as string;
      expect(await h.client.readResource({ uri })).toEqual(await up.client.readResource({ uri }));
      const templates = await h.client.listResourceTemplates();
      expect(templates.resourceTemplates.length).toBeGreaterThan(0);
      const prompts = await h.client.listPrompts();
      expect(prompts.prompts.map((p) => p.name)).toEqual((await up.client.listPrompts()).prompts.map((p) => p.name));
      const simple = prompts.prompts.find((p) => !p.arguments?.some((a) => a.required));
      expect(simple).toBeDefined();
      expect(await h.client.getPrompt({ name: simple?.name as string })).toEqual(await up.client.getPrompt({ name: simple?.name as string }));
    } finally {
      await up.client.close();
      await direct.close();
    }
  });
});

describe('mcp-proxy over Streamable HTTP', () => {
  it('serves the SDK Streamable HTTP client on loopback; decisions are the same', async () => {
    const root = tempDir('ape-mcp-http-');
    const ape = await Ape.fromPolicy(`
name: mcp_http
default_decision: deny
actions:
  - { id: list_allowed_directories, category: file_read, risk_level: minimal }
rules:
  - { id: writes-in-root, action: write_file, decision: allow, conditions: { path: { prefix: ${root}/in/ } } }
  - { id: list, action: list_allowed_directories, decision: allow }
`);
    const proxy = await McpProxy.start({ ape, upstream: realServer('filesystem', root), upstreamStderr: 'ignore' });
    const endpoint = await listenHttp(proxy, { host: '127.0.0.1', port: 0 });
    const client = new Client({ name: 'http-client', version: '1' });
    try {
      expect(endpoint.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
      await client.connect(new StreamableHTTPClientTransport(new URL(endpoint.url)));
      const listed = await client.callTool({ name: 'list_allowed_directories', arguments: {} });
      expect(JSON.stringify(listed.content)).toContain(root);
      const denied = await client.callTool({ name: 'write_file', arguments: { path: join(root, 'out.txt'), content: 'x' } });
      expect(denied.isError).toBe(true);
      expect(existsSync(join(root, 'out.txt'))).toBe(false);
      // A second session on the same proxy is decided the same way.
      const second = new Client({ name: 'second', version: '1' });
      await second.connect(new StreamableHTTPClientTransport(new URL(endpoint.url)));
      expect((await second.callTool({ name: 'write_file', arguments: { path: join(root, 'in2.txt'), content: 'x' } })).isError).toBe(true);
      await second.close();
      // DNS rebinding: a request naming another host is refused.
      const rebound = await fetch(endpoint.url, { method: 'POST', headers: { host: 'evil.example', 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' });
      expect(rebound.status).toBeGreaterThanOrEqual(400);
    } finally {
      await client.close();
      await endpoint.close();
      await proxy.close();
      await ape.close();
    }
  });

  it('refuses to listen on a non-loopback address without the explicit flag', async () => {
    const ape = await Ape.fromPolicy('name: p\ndefault_decision: deny\n');
    const proxy = await McpProxy.start({ ape, upstream: realServer('memory'), upstreamStderr: 'ignore' });
    try {
      await expect(listenHttp(proxy, { host: '0.0.0.0', port: 0 })).rejects.toThrow(McpSetupError);
      await expect(listenHttp(proxy, { host: '0.0.0.0', port: 0 })).rejects.toThrow(/--allow-remote/);
    } finally {
      await proxy.close();
      await ape.close();
    }
  });
});
