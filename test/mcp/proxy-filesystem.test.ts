import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { READ_TEXT_FILE_ACTION, realServer, startProxy, tempDir, text, type ProxyHarness } from './helpers.js';

// The server may write in both folders; the policy only in `root`. So whatever the proxy lets
// through, the server would do: every refusal below is APE's, not the server's.
const root = tempDir('ape-mcp-root-');
const outside = tempDir('ape-mcp-outside-');
writeFileSync(join(root, 'notes.md'), 'hello from the root\n');

const policy = `
name: mcp_filesystem
version: "1"
default_decision: deny
actions:
${READ_TEXT_FILE_ACTION}
rules:
  - id: read-in-root
    action: [read_text_file, list_directory]
    decision: allow
    conditions: { path: { prefix: ${root}/ } }
  - id: write-in-root
    action: write_file
    decision: allow
    conditions: { path: { prefix: ${root}/ } }
  - id: mkdir-needs-approval
    action: create_directory
    decision: escalate
    conditions: { path: { prefix: ${root}/ } }
`;

describe('mcp-proxy in front of @modelcontextprotocol/server-filesystem (official SDK client)', () => {
  let h: ProxyHarness;
  let answer: 'accept' | 'decline' | 'cancel' | 'edit-outside' = 'accept';
  beforeAll(async () => {
    h = await startProxy(policy, realServer('filesystem', root, outside), {
      answer: (_message, defaults) => {
        if (answer === 'accept') return { action: 'accept', content: { approve: true, arguments: String(defaults['arguments']) } };
        if (answer === 'edit-outside') return { action: 'accept', content: { approve: true, arguments: JSON.stringify({ path: join(outside, 'sneaky') }) } };
        return { action: answer };
      },
    });
  });
  afterAll(async () => h.close());

  it('tools/list passes the server tools through (with their schemas and annotations)', async () => {
    const { tools } = await h.client.listTools();
    const write = tools.find((t) => t.name === 'write_file');
    expect(write?.annotations?.destructiveHint).toBe(true);
    expect(tools.map((t) => t.name)).toContain('move_file');
  });

  it('allows a read inside the root, and the result is labelled external data in the session', async () => {
    const result = await h.call('read_text_file', { path: join(root, 'notes.md') });
    expect(result.isError).toBeFalsy();
    expect(text(result)).toContain('hello from the root');
    const done = h.audit.events.filter((e) => e.type === 'execution.completed');
    expect(done.at(-1)).toMatchObject({ action: 'read_text_file', tool: 'read_text_file' });
    expect(JSON.stringify(done.at(-1))).toContain('"trust":"external"');
  });

  it('denies a write outside the root before it reaches the server: the file never appears', async () => {
    const target = join(outside, 'evil.txt');
    const result = await h.call('write_file', { path: target, content: 'pwned' });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/^APE: action 'write_file' denied by default: rule 'write-in-root': path '.*evil\.txt' does not start with/);
    expect(existsSync(target)).toBe(false);
  });

  it('allows a write inside the root', async () => {
    const result = await h.call('write_file', { path: join(root, 'ok.txt'), content: 'fine' });
    expect(result.isError).toBeFalsy();
    expect(readFileSync(join(root, 'ok.txt'), 'utf8')).toBe('fine');
  });

  it('denies path traversal out of the root (the path is normalized before the decision)', async () => {
    const sneaky = `${root}/../${outside.split('/').at(-1)}/traversal.txt`;
    const result = await h.call('write_file', { path: sneaky, content: 'pwned' });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain(`path '${join(outside, 'traversal.txt')}' does not start with`);
    expect(existsSync(join(outside, 'traversal.txt'))).toBe(false);
    const relative = await h.call('read_text_file', { path: 'notes.md' });
    expect(relative.isError).toBe(true);
  });

  it('denies tools the policy does not name', async () => {
    writeFileSync(join(root, 'keep.txt'), 'keep');
    const moved = await h.call('move_file', { source: join(root, 'keep.txt'), destination: join(outside, 'keep.txt') });
    expect(moved.isError).toBe(true);
    expect(text(moved)).toBe("APE: the policy does not declare the action of tool 'move_file' (a tool call runs only as an action the policy declares under actions:, as ape mcp-scan --connect writes); not run");
    expect(moved._meta?.['ape/refused']).toBe('APE_PLAN_INVALID');
    expect(existsSync(join(root, 'keep.txt'))).toBe(true);
    expect(existsSync(join(outside, 'keep.txt'))).toBe(false);
  });

  it('refuses arguments that do not match the tool input schema, without deciding or calling', async () => {
    const before = h.audit.events.length;
    const result = await h.call('write_file', { path: join(root, 'x.txt') });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain("arguments of 'write_file' do not match its input schema");
    expect(h.audit.events.length).toBe(before);
    expect(existsSync(join(root, 'x.txt'))).toBe(false);
  });

  it('escalation through elicitation: accept runs exactly the call shown', async () => {
    answer = 'accept';
    h.asked.length = 0;
    const result = await h.call('create_directory', { path: join(root, 'accepted') });
    expect(result.isError).toBeFalsy();
    expect(existsSync(join(root, 'accepted'))).toBe(true);
    expect(h.asked).toHaveLength(1);
    expect(h.asked[0]).toContain(`"path":"${join(root, 'accepted')}"`);
    expect(h.asked[0]).toContain("rule 'mkdir-needs-approval'");
  });

  it('escalation: decline and cancel do not run', async () => {
    for (const a of ['decline', 'cancel'] as const) {
      answer = a;
      const result = await h.call('create_directory', { path: join(root, a) });
      expect(result.isError).toBe(true);
      expect(text(result)).toContain(`the user chose ${a}`);
      expect(existsSync(join(root, a))).toBe(false);
    }
  });

  it('escalation: an edited call is decided again (edited to outside the root: denied, not run)', async () => {
    answer = 'edit-outside';
    const result = await h.call('create_directory', { path: join(root, 'edited') });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain("action 'create_directory' denied by default");
    expect(existsSync(join(outside, 'sneaky'))).toBe(false);
    expect(existsSync(join(root, 'edited'))).toBe(false);
  });

  it('escalation: a client without elicitation is refused and nothing runs', async () => {
    const plain = await h.connectClient();
    const result = (await plain.client.callTool({ name: 'create_directory', arguments: { path: join(root, 'no-elicitation') } })) as { isError?: boolean; content: { type: string; text?: string }[] };
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toContain('cannot be asked (it did not declare elicitation)');
    expect(existsSync(join(root, 'no-elicitation'))).toBe(false);
  });

  it('a directory made by the test exists only where allowed', () => {
    mkdirSync(join(root, 'sub'), { recursive: true });
    expect(existsSync(join(outside, 'sub'))).toBe(false);
  });
});
