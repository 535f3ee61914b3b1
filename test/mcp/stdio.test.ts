import { PassThrough } from 'node:stream';
import { JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { JsonRpcLineReader, parseJsonRpcLine } from '../../src/mcp/json-lines.js';
import { connectUpstream, McpUpstreamError, StdioChildTransport, StdioLineServerTransport } from '../../src/mcp/index.js';

function read(reader: JsonRpcLineReader, ...chunks: Array<string | Buffer>): { messages: JSONRPCMessage[]; errors: Error[] } {
  const messages: JSONRPCMessage[] = [];
  const errors: Error[] = [];
  for (const chunk of chunks) reader.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, (m) => messages.push(m), (e) => errors.push(e));
  return { messages, errors };
}

describe('JSON-RPC lines', () => {
  it('cuts lines across chunks (a UTF-8 character split in two included), several per chunk, CRLF too', () => {
    const line = Buffer.from('{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"héllo ✓"}]}}\n');
    const at = line.indexOf(Buffer.from('✓')) + 1; // inside the three bytes of the check mark
    const r = read(new JsonRpcLineReader(), line.subarray(0, 10), line.subarray(10, at), line.subarray(at), '{"jsonrpc":"2.0","method":"notifications/initialized"}\r\n{"jsonrpc":"2.0","id":"a","method":"ping"}\n{"jsonrpc":"2.0"');
    expect(r.errors).toEqual([]);
    expect(r.messages).toEqual([
      { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'héllo ✓' }] } },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 'a', method: 'ping' },
    ]);
  });

  it('a line that is not JSON-RPC is an error and skipped; the next one is read', () => {
    const r = read(new JsonRpcLineReader(), 'this is not JSON-RPC\n{"jsonrpc":"2.0","id":1.5,"method":"x"}\n{"jsonrpc":"2.0","id":2,"result":{}}\n');
    expect(r.errors).toHaveLength(2);
    expect(r.messages).toEqual([{ jsonrpc: '2.0', id: 2, result: {} }]);
  });

  it('a line over the limit throws and empties the reader, whole or in pieces', () => {
    const reader = new JsonRpcLineReader(64);
    expect(() => read(reader, `{"jsonrpc":"2.0","id":1,"result":{"t":"${'x'.repeat(100)}"}}\n`)).toThrow(/longer than 64/);
    expect(() => read(reader, 'x'.repeat(40), 'x'.repeat(40))).toThrow(/longer than 64/);
    expect(read(reader, '{"jsonrpc":"2.0","id":3,"result":{}}\n').messages).toHaveLength(1);
  });

  it('accepts exactly what the SDK schema accepts (the hand check is only a shortcut)', () => {
    const values: unknown[] = [
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'a', arguments: { x: 1 } } },
      { jsonrpc: '2.0', id: 'x', method: 'tools/call' },
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { _meta: { progressToken: 'p' } } },
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { _meta: { progressToken: 1.5 } } },
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { _meta: 'no' } },
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: [1] },
      { jsonrpc: '2.0', id: 1, method: 'tools/call', extra: true },
      { jsonrpc: '2.0', id: 1.5, method: 'tools/call' },
      { jsonrpc: '2.0', id: 2 ** 60, method: 'tools/call' },
      { jsonrpc: '2.0', id: 2 ** 60, result: {} },
      { jsonrpc: '2.0', id: null, method: 'tools/call' },
      { jsonrpc: '1.0', id: 1, method: 'tools/call' },
      { jsonrpc: '2.0', id: 1, method: 5 },
      { jsonrpc: '2.0', id: 1, result: {} },
      { jsonrpc: '2.0', id: 1, result: { content: 'anything', _meta: { a: 1 } } },
      { jsonrpc: '2.0', id: 1, result: { _meta: { progressToken: {} } } },
      { jsonrpc: '2.0', id: 1, result: [] },
      { jsonrpc: '2.0', id: 1, result: 5 },
      { jsonrpc: '2.0', id: 1, result: {}, extra: 1 },
      { jsonrpc: '2.0', id: 1, result: {}, error: { code: 1, message: 'm' } },
      { jsonrpc: '2.0', id: 1, error: { code: -32000, message: 'm' } },
      { jsonrpc: '2.0', error: { code: -32000, message: 'm' } },
      { jsonrpc: '2.0', id: 1, error: { code: 1.5, message: 'm' } },
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } },
      { jsonrpc: '2.0' },
      [],
      null,
      'x',
    ];
    for (const value of values) {
      const line = JSON.stringify(value);
      const sdk = JSONRPCMessageSchema.safeParse(value).success;
      let ours = true;
      try {
        parseJsonRpcLine(line);
      } catch {
        ours = false;
      }
      expect(ours, line).toBe(sdk);
    }
  });
});

describe('the stdio transports', () => {
  it("the server side reads its input's lines, reports garbage and goes on, writes one line per message", async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const t = new StdioLineServerTransport(input, output);
    const got: JSONRPCMessage[] = [];
    const errors: Error[] = [];
    t.onmessage = (m) => got.push(m);
    t.onerror = (e) => errors.push(e);
    let closed = false;
    t.onclose = () => (closed = true);
    await t.start();
    input.write('{"jsonrpc":"2.0","id":1,"method":"ping"}\nnot json\n{"jsonrpc":"2.0","id":2,');
    input.write('"method":"ping"}\n');
    await new Promise((r) => setImmediate(r));
    expect(got.map((m) => (m as { id: number }).id)).toEqual([1, 2]);
    expect(errors).toHaveLength(1);
    await t.send({ jsonrpc: '2.0', id: 1, result: {} });
    expect(output.read()?.toString()).toBe('{"jsonrpc":"2.0","id":1,"result":{}}\n');
    await t.close();
    expect(closed).toBe(true);
    input.write('{"jsonrpc":"2.0","id":3,"method":"ping"}\n');
    await new Promise((r) => setImmediate(r));
    expect(got).toHaveLength(2);
  });

  it("a server that fails to start: the typed error carries the tail of its stderr", async () => {
    const spec = { transport: 'stdio' as const, command: process.execPath, args: ['-e', "console.error('no database configured'); process.exit(2)"] };
    const error = await connectUpstream(spec, { stderr: 'pipe', timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpUpstreamError);
    expect((error as Error).message).toContain('no database configured');
  });

  it('close ends a child that outlives its stdin with SIGTERM; sending afterwards fails', async () => {
    const t = new StdioChildTransport({ command: process.execPath, args: ['-e', 'process.stdin.resume(); process.stdin.on("end", () => {}); setInterval(() => {}, 1000)'], env: { PATH: process.env['PATH'] ?? '' }, stderr: 'ignore' });
    let closed = false;
    t.onclose = () => (closed = true);
    await t.start();
    const started = Date.now();
    await t.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(4500);
    await expect(t.send({ jsonrpc: '2.0', id: 1, method: 'ping' })).rejects.toThrow(/Not connected/);
  });

  it('a command that does not exist: start rejects', async () => {
    const t = new StdioChildTransport({ command: '/nonexistent/mcp-server', args: [], env: {}, stderr: 'ignore' });
    t.onerror = () => undefined;
    await expect(t.start()).rejects.toThrow(/ENOENT/);
  });
});
