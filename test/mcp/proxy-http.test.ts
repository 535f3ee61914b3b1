import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ape } from '../../src/agent/index.js';
import { listenHttp, McpProxy, type HttpEndpoint } from '../../src/mcp/index.js';
import { fixtureServer, sdkClient, text } from './helpers.js';

// The lean path of the proxy's Streamable HTTP server: a POST of one plain tools/call on an established session is
// checked, read and answered by the proxy (one JSON response; an SSE stream once an approval is asked first).
// Everything its checks refuse is the SDK transport's, with the SDK's own answers, and never reaches the server.
const POLICY = `
name: mcp_shapes_lean
default_decision: deny
actions:
  - { id: answer, category: custom, risk_level: low, parameters: { type: object, properties: { shape: { type: string } } } }
  - { id: wait, category: custom, risk_level: low }
  - { id: secret, category: custom, risk_level: high }
  - { id: typed, category: custom, risk_level: low, parameters: { type: object, properties: { give: { type: string } } } }
  - { id: stats, category: custom, risk_level: low }
rules:
  - { id: answer, action: answer, decision: allow, conditions: { shape: { denylist: [forbidden] } } }
  - { id: wait, action: wait, decision: allow }
  - { id: typed-asks, action: typed, decision: escalate }
  - { id: stats, action: stats, decision: allow }
`;

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

type Message = { id?: unknown; method?: string; result?: CallToolResult; error?: { code: number } };

/**
 * One HTTP request with exactly these headers (node:http lets a test set Host), the body written in `chunks`;
 * `onEvent` sees each SSE message as it arrives.
 */
function send(url: string, method: string, headers: Record<string, string>, chunks: string[] = [], onEvent?: (m: Message) => void): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent: false }, (res) => {
      let body = '';
      let seen = 0;
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
        const all = events(body);
        for (const m of all.slice(seen)) onEvent?.(m);
        seen = all.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

/** The events of an SSE body, as JSON-RPC messages. */
function events(body: string): Message[] {
  return body
    .split('\n\n')
    .slice(0, -1)
    .flatMap((e) => e.split('\n').filter((l) => l.startsWith('data: ')))
    .map((l) => JSON.parse(l.slice(6)) as Message);
}

describe('the lean Streamable HTTP path for tools/call', () => {
  let ape: Ape;
  let proxy: McpProxy;
  let endpoint: HttpEndpoint;
  let session: string;
  let version: string;
  let host: string;
  const { client } = sdkClient({ action: 'decline' });
  // The session's client declared elicitation: escalations are asked on the stream of the call that raised them.

  const headers = (extra: Record<string, string> = {}): Record<string, string> => ({
    host,
    accept: 'application/json, text/event-stream',
    'content-type': 'application/json',
    'mcp-session-id': session,
    'mcp-protocol-version': version,
    ...extra,
  });
  const call = (id: unknown, name: string, args: object, extra?: Record<string, string>, jsonrpc = '2.0') =>
    send(endpoint.url, 'POST', headers(extra), [JSON.stringify({ jsonrpc, id, method: 'tools/call', params: { name, arguments: args } })]);
  const calls = async (): Promise<Record<string, number>> => {
    const r = (await client.callTool({ name: 'stats', arguments: {} })) as CallToolResult;
    return (JSON.parse(text(r)) as { calls: Record<string, number> }).calls;
  };

  beforeAll(async () => {
    ape = await Ape.fromPolicy(POLICY);
    proxy = await McpProxy.start({ ape, upstream: fixtureServer('shapes-server.mjs'), upstreamStderr: 'ignore' });
    endpoint = await listenHttp(proxy, { host: '127.0.0.1', port: 0 });
    host = new URL(endpoint.url).host;
    const transport = new StreamableHTTPClientTransport(new URL(endpoint.url));
    await client.connect(transport);
    session = transport.sessionId as string;
    version = transport.protocolVersion as string;
  });
  afterAll(async () => {
    await client.close();
    await endpoint.close();
    await proxy.close();
    await ape.close();
  });

  it('a plain call is one application/json response under the session; a denied one is a refusal that never reaches the server', async () => {
    const ok = await call(7, 'answer', { shape: 'ok' });
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toBe('application/json');
    expect(ok.headers['mcp-session-id']).toBe(session);
    expect(JSON.parse(ok.body)).toEqual({ jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'fine' }] } });
    const denied = JSON.parse((await call('d-1', 'answer', { shape: 'forbidden' })).body) as { id: string; result: CallToolResult };
    expect(denied.id).toBe('d-1');
    expect(denied.result.isError).toBe(true);
    const unnamed = JSON.parse((await call(8, 'secret', {})).body) as { result: CallToolResult };
    expect(unnamed.result.isError).toBe(true);
    const seen = await calls();
    expect(seen['answer']).toBe(1);
    expect(seen['secret']).toBeUndefined();
    // The SDK client reads the JSON answers as it reads the SDK transport's SSE ones.
    expect(text((await client.callTool({ name: 'answer', arguments: { shape: 'ok' } })) as CallToolResult)).toBe('fine');
  });

  it("requests the lean checks refuse get the SDK transport's own answers, and none reaches the server", async () => {
    const before = (await calls())['answer'] ?? 0;
    const evilHost = await call(1, 'answer', { shape: 'ok' }, { host: 'evil.example' });
    expect(evilHost.status).toBe(403);
    expect(evilHost.body).toContain('Invalid Host header');
    const noSse = await call(2, 'answer', { shape: 'ok' }, { accept: 'application/json' });
    expect(noSse.status).toBe(406);
    const textBody = await call(3, 'answer', { shape: 'ok' }, { 'content-type': 'text/plain; a=application/json' });
    expect(textBody.status).toBe(415);
    const oldVersion = await call(4, 'answer', { shape: 'ok' }, { 'mcp-protocol-version': '1999-01-01' });
    expect(oldVersion.status).toBe(400);
    expect(oldVersion.body).toContain('Unsupported protocol version');
    const notJson = await send(endpoint.url, 'POST', headers(), ['{"jsonrpc":"2.0","id":5,"method":"tools/call",']);
    expect(notJson.status).toBe(400);
    expect(JSON.parse(notJson.body).error.code).toBe(-32700);
    const fractionalId = await call(6.5, 'answer', { shape: 'ok' });
    expect(fractionalId.status).toBe(400);
    const oldRpc = await call(7, 'answer', { shape: 'ok' }, {}, '1.0');
    expect(oldRpc.status).toBe(400);
    // Over 4 MiB without a declared length (chunked): refused once the limit is passed.
    const chunk = `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"answer","arguments":{"shape":"ok","pad":"${'x'.repeat(1024 * 1024)}`;
    const huge = await send(endpoint.url, 'POST', headers(), [chunk, 'x'.repeat(1024 * 1024), 'x'.repeat(1024 * 1024), 'x'.repeat(1024 * 1024), 'x'.repeat(1024 * 1024), '"}}}']);
    expect(huge.status).toBe(413);
    // Declared over the limit: the SDK refuses it without reading.
    const declared = await send(endpoint.url, 'POST', headers({ 'content-length': String(5 * 1024 * 1024) }), ['{}']).catch((e: Error) => ({ status: 413, headers: {}, body: e.message }));
    expect(declared.status).toBe(413);
    const unknownSession = await call(10, 'answer', { shape: 'ok' }, { 'mcp-session-id': 'not-a-session' });
    expect(unknownSession.status).toBe(404);
    expect((await calls())['answer'] ?? 0).toBe(before);
  });

  it("a batch of calls is the SDK transport's (an SSE stream) and every call in it is decided the same", async () => {
    const before = (await calls())['answer'] ?? 0;
    const batch = [
      { jsonrpc: '2.0', id: 'b-1', method: 'tools/call', params: { name: 'answer', arguments: { shape: 'ok' } } },
      { jsonrpc: '2.0', id: 'b-2', method: 'tools/call', params: { name: 'answer', arguments: { shape: 'forbidden' } } },
    ];
    const r = await send(endpoint.url, 'POST', headers(), [JSON.stringify(batch)]);
    expect(r.headers['content-type']).toBe('text/event-stream');
    const byId = Object.fromEntries(events(r.body).map((e) => [e.id, e.result]));
    expect(text(byId['b-1'] as CallToolResult)).toBe('fine');
    expect((byId['b-2'] as CallToolResult).isError).toBe(true);
    expect((await calls())['answer']).toBe(before + 1);
  });

  it('an escalated call turns its response into an SSE stream carrying the question; the answer comes back in its own POST', async () => {
    const before = (await calls())['typed'] ?? 0;
    const answer = (reply: object) => (m: Message) => {
      if (m.method === 'elicitation/create') void send(endpoint.url, 'POST', headers(), [JSON.stringify({ jsonrpc: '2.0', id: m.id, result: reply })]);
    };
    const accepted = await send(endpoint.url, 'POST', headers(), [JSON.stringify({ jsonrpc: '2.0', id: 'e-1', method: 'tools/call', params: { name: 'typed', arguments: { give: 'good' } } })], answer({ action: 'accept', content: { approve: true } }));
    expect(accepted.headers['content-type']).toBe('text/event-stream');
    const [question, result] = events(accepted.body);
    expect(question?.method).toBe('elicitation/create');
    expect(result?.id).toBe('e-1');
    expect(result?.result?.structuredContent).toEqual({ n: 1 });
    const declined = await send(endpoint.url, 'POST', headers(), [JSON.stringify({ jsonrpc: '2.0', id: 'e-2', method: 'tools/call', params: { name: 'typed', arguments: { give: 'good' } } })], answer({ action: 'decline' }));
    const last = events(declined.body).at(-1);
    expect(last?.id).toBe('e-2');
    expect(last?.result?.isError).toBe(true);
    expect((await calls())['typed']).toBe(before + 1);
  });

  it('a cancelled call ends its response without a result, and its request to the server is cancelled', async () => {
    const pending = call('w-1', 'wait', {});
    await new Promise((resolve) => setTimeout(resolve, 200));
    const cancel = await send(endpoint.url, 'POST', headers(), [JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'w-1', reason: 'test' } })]);
    expect(cancel.status).toBe(202);
    const r = await pending;
    expect(r.status).toBe(200);
    expect(events(r.body)).toEqual([]);
    const s = JSON.parse(text((await client.callTool({ name: 'stats', arguments: {} })) as CallToolResult)) as { cancelled: unknown[] };
    expect(s.cancelled.length).toBeGreaterThan(0);
  });

  it('closing the session ends a call waiting on the server', async () => {
    const other = sdkClient();
    const transport = new StreamableHTTPClientTransport(new URL(endpoint.url));
    await other.client.connect(transport);
    const id = transport.sessionId as string;
    const pending = call('w-2', 'wait', {}, { 'mcp-session-id': id });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await transport.terminateSession();
    const r = await pending;
    expect(events(r.body)).toEqual([]);
    const after = await call('w-3', 'answer', { shape: 'ok' }, { 'mcp-session-id': id });
    expect(after.status).toBe(404);
    await other.client.close();
  });
});
