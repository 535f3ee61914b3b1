import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { describe, expect, it } from 'vitest';
import { bufferIO } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';
import { APE_CLI, READ_TEXT_FILE_ACTION, ROOT_DIR, fixtureServer, serverScript, tempDir, writeBeside } from './helpers.js';

const root = tempDir('ape-mcp-cli-root-');
const outside = tempDir('ape-mcp-cli-outside-');
writeFileSync(join(root, 'notes.md'), 'notes in the root\n');
const policyFile = writeBeside(root, 'policy.yaml', `
name: mcp_cli
default_decision: deny
actions:
${READ_TEXT_FILE_ACTION}
rules:
  - { id: read-in-root, action: read_text_file, decision: allow, conditions: { path: { prefix: ${root}/ } } }
  - { id: write-in-root, action: write_file, decision: allow, conditions: { path: { prefix: ${root}/ } } }
`);


async function ape(...args: string[]) {
  const io = bufferIO();
  const code = await runCli(args, io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

describe('ape mcp-proxy (the command, over stdio)', () => {
  it('the official SDK client talks to the command; allowed read runs, write outside denied, audit written and intact', async () => {
    const audit = join(outside, '..', `${outside.split('/').at(-1)}-audit.jsonl`);
    const [command, ...pre] = APE_CLI as [string, ...string[]];
    const transport = new StdioClientTransport({
      command,
      args: [...pre, 'mcp-proxy', '--policy', policyFile, '--audit', audit, '--', process.execPath, serverScript('filesystem'), root, outside],
      cwd: ROOT_DIR,
      stderr: 'pipe',
    });
    const client = new Client({ name: 'cli-test', version: '1' });
    await client.connect(transport);
    try {
      const read = await client.callTool({ name: 'read_text_file', arguments: { path: join(root, 'notes.md') } });
      expect(JSON.stringify(read.content)).toContain('notes in the root');
      const denied = await client.callTool({ name: 'write_file', arguments: { path: join(outside, 'x.txt'), content: 'x' } });
      expect(denied.isError).toBe(true);
      expect(existsSync(join(outside, 'x.txt'))).toBe(false);
    } finally {
      await client.close();
    }
    const verify = await ape('audit', 'verify', audit, '--json');
    expect(verify.code).toBe(0);
    expect(readFileSync(audit, 'utf8')).toContain('read_text_file');
  });

  it('--watch: an edited policy file is swapped in without a restart; one that does not compile keeps the current one', async () => {
    const watched = join(outside, '..', `${outside.split('/').at(-1)}-watched.yaml`);
    const policy = (decision: string) => readFileSync(policyFile, 'utf8').replace('name: mcp_cli', 'name: mcp_watch').replace('id: read-in-root, action: read_text_file, decision: allow', `id: read-in-root, action: read_text_file, decision: ${decision}`);
    writeFileSync(watched, policy('allow'));
    const [command, ...pre] = APE_CLI as [string, ...string[]];
    const transport = new StdioClientTransport({
      command,
      args: [...pre, 'mcp-proxy', '--policy', watched, '--watch', '--', process.execPath, serverScript('filesystem'), root, outside],
      cwd: ROOT_DIR,
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const client = new Client({ name: 'cli-watch-test', version: '1' });
    await client.connect(transport);
    const waitFor = async (text: string) => {
      for (let i = 0; i < 200 && !stderr.includes(text); i++) await new Promise((r) => setTimeout(r, 50));
      expect(stderr).toContain(text);
    };
    try {
      const read = () => client.callTool({ name: 'read_text_file', arguments: { path: join(root, 'notes.md') } });
      expect((await read()).isError).toBeFalsy();
      writeFileSync(watched, policy('deny'));
      await waitFor('policy reloaded');
      const denied = await read();
      expect(denied.isError).toBe(true);
      expect(JSON.stringify(denied.content)).toContain("rule 'read-in-root'");
      writeFileSync(watched, 'name: mcp_watch\nrules: [ this is not a policy');
      await waitFor('policy change refused');
      expect((await read()).isError).toBe(true);
    } finally {
      await client.close();
    }
  });

  const pythonSummary = (args: string[]) => {
    const python = join(ROOT_DIR, '.tools/mcp-py/bin/python');
    expect(existsSync(python), 'run `bash scripts/install-mcp-py.sh` (npm test does it in pretest)').toBe(true);
    const r = spawnSync(python, [join(ROOT_DIR, 'test/mcp/fixtures/python_client.py'), ...args], { cwd: ROOT_DIR, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as Record<string, { isError: boolean; text: string }> & { tools: string[] };
  };
  const expectBoundary = (summary: ReturnType<typeof pythonSummary>, name: string) => {
    expect(summary.tools).toContain('write_file');
    expect(summary['allowed']).toEqual({ isError: false, text: 'notes in the root\n' });
    expect(summary['denied']?.isError).toBe(true);
    expect(summary['denied']?.text).toContain("action 'write_file' denied by default: rule 'write-in-root'");
    expect(summary['traversal']?.isError).toBe(true);
    expect(existsSync(join(outside, name)), name).toBe(false);
    expect(existsSync(join(outside, 'dots.txt'))).toBe(false);
  };

  it('from Python with the official `mcp` package (PyPI): the boundary holds across languages', () => {
    expectBoundary(pythonSummary([root, outside, ...APE_CLI, 'mcp-proxy', '--policy', policyFile, '--', process.execPath, serverScript('filesystem'), root, outside]), 'from-python.txt');
  });

  it("from Python over Streamable HTTP (the `mcp` package's streamable_http_client): the same boundary, JSON answers read", async () => {
    const child = spawn(APE_CLI[0] as string, [...APE_CLI.slice(1), 'mcp-proxy', '--policy', policyFile, '--listen', '127.0.0.1:0', '--', process.execPath, serverScript('filesystem'), root, outside], { cwd: ROOT_DIR });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let seen = '';
        child.stderr.on('data', (c: Buffer) => {
          seen += c.toString();
          const m = /serving (http:\S+)/.exec(seen);
          if (m) resolve(m[1] as string);
        });
        child.once('exit', (code) => reject(new Error(`the proxy exited with ${code}: ${seen}`)));
      });
      const python = join(ROOT_DIR, '.tools/mcp-py/bin/python');
      const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const p = spawn(python, [join(ROOT_DIR, 'test/mcp/fixtures/python_client.py'), '--url', url, root, outside], { cwd: ROOT_DIR });
        let stdout = '';
        let stderr = '';
        p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        p.once('exit', (status) => resolve({ status, stdout, stderr }));
      });
      expect(r.status, r.stderr).toBe(0);
      expectBoundary(JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as ReturnType<typeof pythonSummary>, 'from-python.txt');
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('exits 1 with one line on stderr when the server crashes', async () => {
    const poke = join(outside, '..', `${outside.split('/').at(-1)}-poke.yaml`);
    writeFileSync(poke, 'name: poke\ndefault_decision: deny\nactions: [{ id: poke, parameters: { type: object } }]\nrules: [{ id: poke, action: poke, decision: allow }]\n');
    const spec = fixtureServer('misbehaving-server.mjs', 'crash');
    const child = spawn(APE_CLI[0] as string, [...APE_CLI.slice(1), 'mcp-proxy', '--policy', poke, '--', spec.command as string, ...(spec.args ?? [])], { cwd: ROOT_DIR });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const send = (m: object) => child.stdin.write(`${JSON.stringify(m)}\n`);
    send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'poke', arguments: {} } });
    // stdin stays open: the proxy ends because the server died, not because the client left.
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.stdin.destroy();
    expect(code).toBe(1);
    expect(stderr.trim().split('\n').at(-1)).toBe('ape mcp-proxy: the MCP server closed the connection (it exited or crashed)');
    const answers = stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: number; error?: { message: string }; result?: unknown });
    expect(answers.find((a) => a.id === 2)?.error?.message).toMatch(/closed/i);
    expect(answers.find((a) => a.id === 2)?.result).toBeUndefined();
  });

  it('bad input is one line, exit 1: a missing policy, a bad --listen, a remote address without --allow-remote', async () => {
    const missing = await ape('mcp-proxy', '--policy', 'nope.yaml', '--', 'node', 'x.js');
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    const listen = await ape('mcp-proxy', '--policy', policyFile, '--listen', 'nowhere', '--', 'node', 'x.js');
    expect(listen.stderr.trim()).toBe("ape: --listen expects host:port (e.g. 127.0.0.1:8931), got 'nowhere'");
    const remote = await ape('mcp-proxy', '--policy', policyFile, '--listen', '0.0.0.0:0', '--', process.execPath, serverScript('memory'));
    expect(remote.code).toBe(1);
    expect(remote.stderr.trim()).toMatch(/^ape: --listen 0\.0\.0\.0 is not a loopback address; pass --allow-remote/);
  });
});
