import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, type CallToolResult, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ape } from '../../src/agent/index.js';
import { listenHttp, McpProxy } from '../../src/mcp/index.js';
import { directToolCall } from '../../src/mcp/proxy/downstream.js';
import { toolResultProblem } from '../../src/mcp/proxy/result.js';
import { fixtureServer, realServer, sdkClient, startProxy, text, type ProxyHarness } from './helpers.js';

// The direct path: a tools/call without a progress token is taken off the session's transport, sent to the server
// under an id of the proxy's own, and its raw result checked once (shape, output schema) before it is passed on.
const SHAPES = `
name: mcp_shapes
default_decision: deny
actions:
  - { id: answer, category: custom, risk_level: low, parameters: { type: object, properties: { shape: { type: string } } } }
  - { id: typed, category: custom, risk_level: low, parameters: { type: object, properties: { give: { type: string } } } }
  - { id: wait, category: custom, risk_level: low }
  - { id: secret, category: custom, risk_level: high }
  - { id: stats, category: custom, risk_level: low }
rules:
  - { id: answer, action: answer, decision: allow, conditions: { shape: { denylist: [forbidden] } } }
  - { id: typed, action: typed, decision: allow }
  - { id: wait, action: wait, decision: allow }
  - { id: stats, action: stats, decision: allow }
`;

interface Stats {
  calls: Record<string, number>;
  cancelled: Array<string | number>;
  ids: Array<string | number>;
}

async function stats(h: ProxyHarness): Promise<Stats> {
  return JSON.parse(text(await h.call('stats'))) as Stats;
}

describe('the direct tools/call path against a server whose answers the test chooses', () => {
  let h: ProxyHarness;
  const logged: string[] = [];
  beforeAll(async () => {
    h = await startProxy(SHAPES, fixtureServer('shapes-server.mjs'), { proxy: { requestTimeoutMs: 5000, log: (l) => logged.push(l) } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('a well-formed result is passed on as the server wrote it (content defaults to [])', async () => {
    expect(text(await h.call('answer', { shape: 'ok' }))).toBe('fine');
    const bare = await h.call('answer', { shape: 'no-content' });
    expect(bare.content).toEqual([]);
    expect(bare.isError).toBeUndefined();
  });

  it('a result of the wrong shape is a JSON-RPC error for the client, never passed on as a result', async () => {
    for (const shape of ['content-string', 'unknown-block', 'text-without-text', 'image-without-data', 'is-error-string', 'structured-array']) {
      const from = h.audit.events.length;
      await expect(h.call('answer', { shape }), shape).rejects.toThrow(/not a tool result/);
      // Decided and run, and audited as a failed execution (not as a result handed to the client).
      const types = h.audit.events.slice(from).map((e) => e.type);
      expect(types, shape).toContain('execution.failed');
      expect(types, shape).not.toContain('execution.completed');
    }
    expect(text(await h.call('answer', { shape: 'ok' }))).toBe('fine');
  });

  it("the server's JSON-RPC error reaches the client as an error with its code", async () => {
    await expect(h.call('answer', { shape: 'rpc-error' })).rejects.toMatchObject({ code: -32050, message: expect.stringContaining('the server refuses') });
  });

  it("a tool's output schema: structured content is required and must match", async () => {
    const good = await h.call('typed', { give: 'good' });
    expect(good.structuredContent).toEqual({ n: 1 });
    await expect(h.call('typed', { give: 'wrong' })).rejects.toThrow(/does not match the tool's output schema/);
    await expect(h.call('typed', { give: 'missing' })).rejects.toThrow(/did not return structured content/);
    expect((await h.call('typed', { give: 'error' })).isError).toBe(true);
  });

  it('a denied call, an unnamed tool and bad arguments never reach the server', async () => {
    const before = await stats(h);
    const denied = await h.call('answer', { shape: 'forbidden' });
    expect(denied.isError).toBe(true);
    expect(text(denied)).toMatch(/^APE: /);
    const secret = await h.call('secret', {});
    expect(secret.isError).toBe(true);
    const bad = await h.call('answer', { shape: 42 });
    expect(bad.isError).toBe(true);
    expect(text(bad)).toContain('do not match its input schema');
    const after = await stats(h);
    expect(after.calls['answer']).toBe(before.calls['answer']);
    expect(after.calls['secret']).toBeUndefined();
  });

  it('the server sees ids of the proxy, never the client ids', async () => {
    const s = await stats(h);
    expect(s.ids.length).toBeGreaterThan(3);
    for (const id of s.ids) expect(String(id)).toMatch(/^ape-\d+$/);
  });

  it('answers to ids the proxy did not ask for, and a second answer, are dropped; the call gets its own answer', async () => {
    expect(text(await h.call('answer', { shape: 'stray' }))).toBe('fine');
    expect(text(await h.call('answer', { shape: 'ok' }))).toBe('fine');
  });

  it('a call the client cancels is cancelled at the server, and the proxy still serves', async () => {
    const abort = new AbortController();
    const waits = (await stats(h)).calls['wait'] ?? 0;
    const pending = h.client.callTool({ name: 'wait', arguments: {} }, CallToolResultSchema, { signal: abort.signal });
    // Cancel once the server holds the call (it never answers 'wait').
    for (let i = 0; i < 100 && ((await stats(h)).calls['wait'] ?? 0) === waits; i++) await new Promise((r) => setTimeout(r, 20));
    abort.abort('the user gave up');
    await expect(pending).rejects.toThrow();
    let s = await stats(h);
    for (let i = 0; i < 20 && s.cancelled.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      s = await stats(h);
    }
    expect(s.cancelled).toHaveLength(1);
    expect(String(s.cancelled[0])).toMatch(/^ape-\d+$/);
    expect(text(await h.call('answer', { shape: 'ok' }))).toBe('fine');
  });

  it('a call the server never answers times out as an error at the client and is cancelled at the server', async () => {
    const quick = await startProxy(SHAPES, fixtureServer('shapes-server.mjs'), { proxy: { requestTimeoutMs: 200 } });
    try {
      await expect(quick.call('wait')).rejects.toThrow(/timed out/i);
      const s = await stats(quick);
      expect(s.cancelled).toHaveLength(1);
    } finally {
      await quick.close();
    }
  });
});

describe('escalation on the direct path over Streamable HTTP (the question rides on the call stream)', () => {
  it('accept runs the exact call; decline does not reach the server', async () => {
    const ape = await Ape.fromPolicy(`
name: mcp_shapes_http
default_decision: deny
actions:
  - { id: answer, category: custom, risk_level: low, parameters: { type: object, properties: { shape: { type: string } } } }
  - { id: stats, category: custom, risk_level: low }
rules:
  - { id: ask-first, action: answer, decision: escalate }
  - { id: stats, action: stats, decision: allow }
`);
    const proxy = await McpProxy.start({ ape, upstream: fixtureServer('shapes-server.mjs'), upstreamStderr: 'ignore' });
    const endpoint = await listenHttp(proxy, { host: '127.0.0.1', port: 0 });
    let reply: ElicitResult = { action: 'accept', content: { approve: true } };
    const { client, asked } = sdkClient(() => reply);
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(endpoint.url)));
      expect(text((await client.callTool({ name: 'answer', arguments: { shape: 'ok' } })) as CallToolResult)).toBe('fine');
      expect(asked).toHaveLength(1);
      expect(asked[0]).toContain('"shape":"ok"');
      reply = { action: 'decline' };
      const declined = (await client.callTool({ name: 'answer', arguments: { shape: 'ok' } })) as CallToolResult;
      expect(declined.isError).toBe(true);
      expect(asked).toHaveLength(2);
      const s = JSON.parse(text((await client.callTool({ name: 'stats', arguments: {} })) as CallToolResult)) as Stats;
      expect(s.calls['answer']).toBe(1);
      expect(String(s.ids[0])).toMatch(/^ape-\d+$/); // sent by the direct path
    } finally {
      await client.close();
      await endpoint.close();
      await proxy.close();
      await ape.close();
    }
  });
});

describe('the direct path to a server reached over Streamable HTTP', () => {
  it('a proxy in front of a proxy served over HTTP: calls, errors and refusals cross both', async () => {
    const inner = await Ape.fromPolicy(SHAPES);
    const innerProxy = await McpProxy.start({ ape: inner, upstream: fixtureServer('shapes-server.mjs'), upstreamStderr: 'ignore' });
    const endpoint = await listenHttp(innerProxy, { host: '127.0.0.1', port: 0 });
    const outerPolicy = SHAPES.replace('- { id: stats, action: stats, decision: allow }', '- { id: stats, action: stats, decision: allow }\n  - { id: secret-outside, action: secret, decision: allow }');
    const h = await startProxy(outerPolicy, { transport: 'http', url: endpoint.url });
    try {
      expect(text(await h.call('answer', { shape: 'ok' }))).toBe('fine');
      await expect(h.call('answer', { shape: 'unknown-block' })).rejects.toThrow(/not a tool result/);
      // Allowed by the outer policy, refused by the inner one: the refusal comes back as a tool result.
      const secret = await h.call('secret', {});
      expect(secret.isError).toBe(true);
      const s = await stats(h);
      expect(s.calls['secret']).toBeUndefined();
      expect(s.ids.every((id) => /^ape-\d+$/.test(String(id)))).toBe(true);
    } finally {
      await h.close();
      await endpoint.close();
      await innerProxy.close();
      await inner.close();
    }
  });
});

describe('results the transport cannot carry', () => {
  it('an oversized result: the client gets an error, nothing is passed on, the proxy ends as upstream-closed', async () => {
    const h = await startProxy(SHAPES, fixtureServer('shapes-server.mjs'), { proxy: { requestTimeoutMs: 10_000 } });
    try {
      await expect(h.call('answer', { shape: 'huge' })).rejects.toThrow(/closed/i);
      expect((await h.proxy.done).reason).toBe('upstream-closed');
    } finally {
      await h.close();
    }
  });
});

describe('a tools/call with a progress token takes the SDK path (progress relayed under the client token)', () => {
  const POLICY = `
name: mcp_progress
default_decision: deny
actions:
  - { id: trigger-long-running-operation, category: compute, risk_level: low, parameters: { type: object, properties: { duration: { type: number }, steps: { type: number } } } }
rules:
  - { id: long, action: trigger-long-running-operation, decision: allow, conditions: { duration: { max: 1 } } }
`;
  it('progress arrives, the result too; a denied call with a progress token is refused the same way', async () => {
    const h = await startProxy(POLICY, realServer('everything', 'stdio'));
    try {
      const progress: number[] = [];
      const r = (await h.client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 0.2, steps: 2 } }, CallToolResultSchema, {
        onprogress: (p) => progress.push(p.progress),
      })) as CallToolResult;
      expect(r.isError).toBeFalsy();
      expect(text(r)).toContain('Long running operation completed');
      // The step before the last is relayed for sure (the last may race the result, which ends the client's interest).
      expect(progress[0]).toBe(1);
      const denied = (await h.client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 5, steps: 1 } }, CallToolResultSchema, {
        onprogress: () => undefined,
      })) as CallToolResult;
      expect(denied.isError).toBe(true);
    } finally {
      await h.close();
    }
  });
});

describe('which requests take the direct path, and the result check', () => {
  it('only well-formed tools/call requests without a progress token or task', () => {
    const call = (params: unknown, extra: Record<string, unknown> = {}) => directToolCall({ jsonrpc: '2.0', id: 7, method: 'tools/call', params, ...extra } as never);
    expect(call({ name: 'echo', arguments: { m: 1 } })).toEqual({ id: 7, name: 'echo', arguments: { m: 1 } });
    expect(call({ name: 'echo' })).toEqual({ id: 7, name: 'echo', arguments: undefined });
    expect(call({ name: 'echo', _meta: { trace: 'x' } })).toBeDefined();
    expect(call({ name: 'echo', _meta: { progressToken: 1 } })).toBeUndefined();
    expect(call({ name: 'echo', task: { ttl: 1 } })).toBeUndefined();
    expect(call({ name: 'echo', _meta: { 'io.modelcontextprotocol/related-task': { taskId: 't' } } })).toBeUndefined();
    expect(call({ name: 'echo', arguments: [1] })).toBeUndefined();
    expect(call({ name: 5 })).toBeUndefined();
    expect(call(undefined)).toBeUndefined();
    expect(directToolCall({ jsonrpc: '2.0', method: 'tools/call', params: { name: 'echo' } } as never)).toBeUndefined();
    expect(directToolCall({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} } as never)).toBeUndefined();
  });

  it('the shape check accepts every content block kind and refuses the rest', () => {
    expect(toolResultProblem({ content: [{ type: 'text', text: 'a' }, { type: 'image', data: 'AA==', mimeType: 'image/png' }, { type: 'audio', data: 'AA==', mimeType: 'audio/wav' }, { type: 'resource_link', uri: 'file:///a', name: 'a' }, { type: 'resource', resource: { uri: 'file:///a', text: 'a' } }, { type: 'resource', resource: { uri: 'file:///b', blob: 'AA==' } }] })).toBeUndefined();
    expect(toolResultProblem(null)).toBeDefined();
    expect(toolResultProblem([])).toBeDefined();
    expect(toolResultProblem({ content: [null] })).toBeDefined();
    expect(toolResultProblem({ content: [{ type: 'resource', resource: { uri: 'file:///a' } }] })).toBeDefined();
    expect(toolResultProblem({ content: [{ type: 'resource_link', uri: 'file:///a' }] })).toBeDefined();
    expect(toolResultProblem({ content: [{ type: 'text', text: 'a', annotations: 'x' }] })).toBeDefined();
    expect(toolResultProblem({ content: [], _meta: 1 })).toBeDefined();
  });
});
