import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Ape } from '../../src/agent/index.js';
import { connectUpstream, guardMcpClient, guardMcpServer, McpSetupError } from '../../src/mcp/index.js';
import { PolicyDenyError } from '../../src/runtime/index.js';
import { realServer, sdkClient, tempDir } from './helpers.js';

describe('guardMcpClient: an SDK Client whose tool calls go through APE', () => {
  it('against server-filesystem: reads in the root run, a write outside throws PolicyDenyError and never reaches the server', async () => {
    const root = tempDir('ape-guard-client-');
    writeFileSync(join(root, 'a.txt'), 'alpha');
    const ape = await Ape.fromPolicy(`
name: guarded_client
default_decision: deny
actions:
  - { id: fs.read_text_file, category: file_read, risk_level: low, parameters: { type: object, properties: { path: { type: string, format: path } }, required: [path] } }
  - { id: fs.write_file, category: file_write, risk_level: moderate, parameters: { type: object, properties: { path: { type: string, format: path }, content: { type: string } }, required: [path, content] } }
rules:
  - { id: read-root, action: fs.read_text_file, decision: allow, conditions: { path: { prefix: ${root}/ } } }
  - { id: write-root, action: fs.write_file, decision: allow, conditions: { path: { prefix: ${root}/in/ } } }
`);
    const up = await connectUpstream(realServer('filesystem', root), { stderr: 'ignore' });
    const client = guardMcpClient(up.client, ape, { prefix: 'fs' });
    try {
      const read = await client.callTool({ name: 'read_text_file', arguments: { path: join(root, 'a.txt') } });
      expect(JSON.stringify(read.content)).toContain('alpha');
      await expect(client.callTool({ name: 'write_file', arguments: { path: join(root, 'b.txt'), content: 'x' } })).rejects.toThrow(PolicyDenyError);
      await expect(client.request({ method: 'tools/call', params: { name: 'write_file', arguments: { path: join(root, 'c.txt'), content: 'x' } } }, CallToolResultSchema)).rejects.toThrow(PolicyDenyError);
      expect(existsSync(join(root, 'b.txt'))).toBe(false);
      expect(existsSync(join(root, 'c.txt'))).toBe(false);
      // Arguments are read once: a getter that answers differently on a second read cannot swap the path after the decision.
      let reads = 0;
      const flipping = { content: 'x', get path() { reads++; return reads === 1 ? join(root, 'in', 'ok.txt') : join(root, 'swapped.txt'); } };
      await client.callTool({ name: 'write_file', arguments: flipping }).catch(() => undefined);
      expect(reads).toBe(1);
      expect(existsSync(join(root, 'swapped.txt'))).toBe(false);
      // Other requests pass untouched.
      expect((await client.listTools()).tools.length).toBeGreaterThan(5);
    } finally {
      await up.client.close();
      await ape.close();
    }
  });
});

describe('guardMcpServer: an McpServer whose tools are decided before their handlers run', () => {
  const policy = `
name: guarded_server
default_decision: deny
actions:
  - { id: lookup, category: database_read, risk_level: low, parameters: { type: object, properties: { id: { type: string } }, required: [id] } }
  - { id: drop_table, category: database_write, risk_level: critical, parameters: { type: object, properties: { table: { type: string } }, required: [table] } }
  - { id: rename, category: database_write, risk_level: moderate, parameters: { type: object, properties: { to: { type: string } }, required: [to] } }
rules:
  - { id: lookups, action: lookup, decision: allow }
  - { id: no-drops, action: drop_table, decision: deny }
  - { id: renames, action: rename, decision: escalate, conditions: { to: { regex: '^[a-z]+$' } } }
`;

  async function serve(answer?: Parameters<typeof sdkClient>[0]) {
    const ape = await Ape.fromPolicy(policy);
    const ran: string[] = [];
    const server = guardMcpServer(new McpServer({ name: 'db', version: '1.0.0' }), ape);
    server.registerTool('lookup', { inputSchema: { id: z.string() } }, async ({ id }) => {
      ran.push(`lookup ${id}`);
      return { content: [{ type: 'text', text: `row ${id}` }] };
    });
    server.registerTool('drop_table', { inputSchema: { table: z.string() } }, async ({ table }) => {
      ran.push(`drop ${table}`);
      return { content: [{ type: 'text', text: 'dropped' }] };
    });
    server.registerTool('rename', { inputSchema: { to: z.string() } }, async ({ to }) => {
      ran.push(`rename ${to}`);
      return { content: [{ type: 'text', text: `renamed to ${to}` }] };
    });
    const { client } = sdkClient(answer);
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(b);
    await client.connect(a);
    return { ape, server, client, ran, async close() { await client.close(); await server.close(); await ape.close(); } };
  }

  it('allowed tools run, denied tools never reach their handler (isError with the rule)', async () => {
    const s = await serve();
    try {
      expect(JSON.stringify((await s.client.callTool({ name: 'lookup', arguments: { id: '7' } })).content)).toContain('row 7');
      const drop = await s.client.callTool({ name: 'drop_table', arguments: { table: 'users' } });
      expect(drop.isError).toBe(true);
      expect(JSON.stringify(drop.content)).toContain("denied by rule 'no-drops'");
      expect(s.ran).toEqual(['lookup 7']);
    } finally {
      await s.close();
    }
  });

  it('escalations ask through elicitation; an edit is decided again; a client without elicitation is refused', async () => {
    const accept = await serve(() => ({ action: 'accept', content: { approve: true } }));
    const edit = await serve(() => ({ action: 'accept', content: { approve: true, arguments: JSON.stringify({ to: 'DROP TABLE' }) } }));
    const none = await serve();
    try {
      expect((await accept.client.callTool({ name: 'rename', arguments: { to: 'orders' } })).isError).toBeFalsy();
      expect(accept.ran).toEqual(['rename orders']);
      expect((await edit.client.callTool({ name: 'rename', arguments: { to: 'orders' } })).isError).toBe(true);
      expect(edit.ran).toEqual([]);
      expect((await none.client.callTool({ name: 'rename', arguments: { to: 'orders' } })).isError).toBe(true);
      expect(none.ran).toEqual([]);
    } finally {
      await accept.close();
      await edit.close();
      await none.close();
    }
  });

  it('guarding after a tool was registered is a typed error (those tools would run unguarded)', async () => {
    const ape = await Ape.fromPolicy(policy);
    const server = new McpServer({ name: 'late', version: '1.0.0' });
    server.registerTool('lookup', { inputSchema: { id: z.string() } }, async () => ({ content: [] }));
    expect(() => guardMcpServer(server, ape)).toThrow(McpSetupError);
    await ape.close();
  });
});
