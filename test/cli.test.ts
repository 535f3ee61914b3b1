import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bufferIO } from '../src/cli/io.js';
import { runCli } from '../src/cli/program.js';

const SCOPED = 'policies/scoped_access.yaml';
const tmp = mkdtempSync(join(tmpdir(), 'ape-cli-'));

async function ape(...args: string[]) {
  const io = bufferIO();
  const code = await runCli(args, io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

describe('ape validate', () => {
  it('exits 0 on valid policies (warnings allowed) and prints each warning as file:line:col code message', async () => {
    const r = await ape('validate', 'policies/minimal_safe.yaml', 'test/compat/policies/support_triage.yaml');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^test\/compat\/policies\/support_triage\.yaml:17:5 unknown-action /m);
  });
  it('exits 1 and prints every error as file:line:col code message', async () => {
    const file = join(tmp, 'bad.yaml');
    writeFileSync(file, 'name: p\nrules:\n  - action: read_file\n    decision: allow\n    conditions:\n      path: { prefx: /tmp/ }\n      size: { mni: 1 }\n');
    const r = await ape('validate', file);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(`${file}:6:15 unknown-operator unknown operator 'prefx' in condition on 'path'; expected one of prefix, suffix, allowlist, denylist, equals, one_of, min, max, regex, min_length, max_length, exists, cidr, provenance, source (did you mean 'prefix'?)`);
    expect(lines[1]).toMatch(new RegExp(`^${file}:7:15 unknown-operator`));
  });
  it('a missing file is one clear line, exit 1', async () => {
    const r = await ape('validate', 'nope.yaml');
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('nope.yaml: no such policy file');
  });
});

describe('ape eval', () => {
  it('exit 0 for allow, with the JSON fields of the contract', async () => {
    const r = await ape('eval', SCOPED, 'read_file', '-p', 'path=/workspace/README.md', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({ decision: 'allow', rule: 'workspace-read', matched: ['workspace-read'], engine: 'native' });
    expect(out['policy_hash']).toMatch(/^sha256:/);
    expect(Array.isArray(out['reasons'])).toBe(true);
  });
  it('exit 2 for deny, with the reason of each candidate allow rule', async () => {
    const r = await ape('eval', SCOPED, 'read_file', '--params', '{"path": "/etc/passwd"}', '--json');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({
      decision: 'deny',
      rule: null,
      reasons: ["rule 'workspace-read': path '/etc/passwd' does not start with any of '/workspace/'"],
    });
  });
  it('exit 3 for escalate', async () => {
    const r = await ape('eval', SCOPED, 'http_post', '-p', 'url=https://api.example.com/x', '-p', 'size=100000');
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^ESCALATE by rule 'post-size'/);
  });
  it('-p values are JSON when they parse, and dotted keys nest', async () => {
    const r = await ape('eval', 'test/conformance/policies/every_operator.yaml', 'connect', '-p', 'ip=10.0.0.1', '-p', 'port=22', '-p', 'meta.region=eu', '--json');
    expect(JSON.parse(r.stdout)).toMatchObject({ decision: 'allow', rule: 'private-net' });
  });
  it('--context and --previous-action reach the engine', async () => {
    const policy = 'test/conformance/policies/every_operator.yaml';
    const r1 = await ape('eval', policy, 'connect', '-p', 'ip=10.0.0.1', '-p', 'port=22', '-p', 'meta.region=eu', '--context', '{"session": {"risk": 80}}', '--json');
    expect(JSON.parse(r1.stdout)).toMatchObject({ decision: 'escalate', rule: 'session-budget' });
    const r2 = await ape('eval', policy, 'write_file', '-p', 'path=/x', '-p', 'content=y', '--previous-action', 'read_file', '--json');
    expect(JSON.parse(r2.stdout)).toMatchObject({ decision: 'deny', rule: 'tool_transitions' });
  });
  it('bad input is one clear line, exit 1: unreadable --params, unknown engine, missing policy, bad parameters', async () => {
    const cases: [string[], RegExp][] = [
      [['eval', SCOPED, 'read_file', '--params', '{bad'], /^ape: --params is not valid JSON/],
      [['eval', SCOPED, 'read_file', '--engine', 'nope'], /^ape: unknown engine 'nope'; expected one of native/],
      [['eval', 'missing.yaml', 'read_file'], /^ape: missing\.yaml: no such policy file$/],
      [['eval', SCOPED, 'read_file', '-p', 'path=5'], /^ape: parameters of 'read_file' at \/path must be string$/],
      [['eval', SCOPED], /^ape: eval needs an action/],
    ];
    for (const [args, pattern] of cases) {
      const r = await ape(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(pattern);
    }
  });
  it('with --json, an error is also a JSON envelope on stdout', async () => {
    const r = await ape('eval', SCOPED, 'read_file', '--engine', 'nope', '--json');
    expect(JSON.parse(r.stdout)).toEqual({ error: { code: 'APE_ENGINE_UNKNOWN', message: expect.stringContaining("unknown engine 'nope'") } });
  });
  it('--requests decides one JSONL line at a time, in order; a bad line yields an error object, not a crash', async () => {
    const file = join(tmp, 'requests.jsonl');
    writeFileSync(
      file,
      [
        '{"action": "read_file", "params": {"path": "/workspace/a"}}',
        'not json',
        '{"action": "read_file", "params": {"path": "/etc/passwd"}}',
        '{"action": "read_file", "params": {}}',
        '[1]',
        '{"action": "http_get", "params": {"url": "https://api.github.com/"}, "context": {}}',
      ].join('\n') + '\n',
    );
    const r = await ape('eval', SCOPED, '--requests', file, '--json');
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(6);
    expect(lines.map((l) => l['decision'] ?? (l['error'] as { code: string }).code)).toEqual([
      'allow',
      'APE_CLI_USAGE',
      'deny',
      'APE_PARAMS_INVALID',
      'APE_CLI_USAGE',
      'allow',
    ]);
    expect(lines[1]).toMatchObject({ line: 2 });
    expect(r.code).toBe(1);
  });
  it('--requests reads provenance and sources: a source condition decides on where a value was found, a malformed sources is refused', async () => {
    const file = join(tmp, 'sources.jsonl');
    const base = { action: 'pay', params: { recipient: 'bob', amount: 5 } };
    writeFileSync(
      file,
      [
        { ...base, sources: { recipient: ['user'] } },
        { ...base, sources: { recipient: ['read_file'] } },
        { ...base, sources: { recipient: ['search'] } },
        { ...base, sources: { recipient: 'user' } },
        { action: 'write_note', params: { text: 'x', title: 't' }, provenance: { text: 'model' }, sources: { title: ['user'] } },
      ]
        .map((l) => JSON.stringify(l))
        .join('\n') + '\n',
    );
    const r = await ape('eval', 'test/conformance/policies/provenance_origin.yaml', '--requests', file, '--json');
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l['decision'] ?? (l['error'] as { code: string }).code)).toEqual(['allow', 'deny', 'deny', 'APE_REQUEST_INVALID', 'allow']);
    expect(lines[1]).toMatchObject({ rule: 'pay-injected' });
    expect(lines[2]).toMatchObject({ rule: null, reasons: ["rule 'pay-known': recipient was found in search, not in any of user, get_contacts"] });
    expect(lines[3]).toMatchObject({ line: 4, error: { message: 'request.sources must be an object of parameter path -> list of places' } });
  });
});

describe('other commands', () => {
  it('simulate shows the table view, conditional rules included', async () => {
    const r = await ape('simulate', SCOPED, 'read_file', 'delete_file', 'frobnicate');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/read_file\s+CONDITIONAL \(allow\/deny\)\s+workspace-read, no-secrets/);
    expect(r.stdout).toMatch(/delete_file\s+DENY\s+no-delete/);
    expect(r.stdout).toMatch(/frobnicate\s+DENY\s+\(default\)/);
  });
  it('actions lists the 18 standard actions, by category and as JSON', async () => {
    const json = await ape('actions', '--json');
    expect((JSON.parse(json.stdout) as unknown[]).length).toBe(18);
    const grouped = await ape('actions', '--by-category', '--json');
    expect(Object.keys(JSON.parse(grouped.stdout) as object)).toContain('file_delete');
    const text = await ape('actions', '--by-category');
    expect(text.stdout).toMatch(/^file_read$/m);
  });
  it('diff prints one row per action whose decision or deciding rule differs (as the README says); exit 2 when they differ', async () => {
    const r = await ape('diff', 'policies/minimal_safe.yaml', 'policies/read_only.yaml', '--json');
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout) as { equivalent: boolean; changes: { action: string; a: { decision: string; rule: string | null }; b: { decision: string; rule: string | null } }[] };
    expect(out.equivalent).toBe(false);
    expect(out.changes.find((c) => c.action === 'write_file')).toMatchObject({ a: { decision: 'escalate' }, b: { decision: 'deny' } });
    // Same decision, another rule: a row. Same decision and rule: none.
    expect(out.changes.find((c) => c.action === 'delete_file')).toMatchObject({ a: { decision: 'deny', rule: 'no-destruction' }, b: { decision: 'deny', rule: 'no-writes' } });
    expect(out.changes.find((c) => c.action === 'read_file')).toBeUndefined();
    const text = await ape('diff', 'policies/minimal_safe.yaml', 'policies/read_only.yaml');
    const rows = text.stdout.trim().split('\n').slice(2);
    expect(rows.map((row) => row.split(/\s+/)[0])).toEqual(out.changes.map((c) => c.action));
    expect(rows.find((row) => row.startsWith('delete_file '))).toMatch(/DENY \(no-destruction\)\s+DENY \(no-writes\)$/);
    expect(rows.find((row) => row.startsWith('http_get '))).toMatch(/DENY \(default\)\s+CONDITIONAL \(allow\/deny\)$/);
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(readme).toContain('| `ape diff <a> <b> [--json]` | one row per action whose action-level decision or deciding rule differs');
    const same = await ape('diff', SCOPED, SCOPED);
    expect(same.code).toBe(0);
  });
  it('compile --target ir prints the IR with its hash', async () => {
    const r = await ape('compile', SCOPED, '--target', 'ir');
    const out = JSON.parse(r.stdout) as { hash: string; ir: { name: string; irVersion: number } };
    expect(out.ir).toMatchObject({ name: 'scoped_access', irVersion: 1 });
    expect(out.hash).toMatch(/^sha256:/);
    const unknown = await ape('compile', SCOPED, '--target', 'nope');
    expect(unknown.code).toBe(1);
  });
  it('every command has --help with an example', async () => {
    for (const command of ['validate', 'eval', 'simulate', 'actions', 'diff', 'compile', 'verify', 'audit verify']) {
      const r = await ape(...command.split(' '), '--help');
      expect(r.code, command).toBe(0);
      expect(r.stdout, command).toMatch(/Example/);
    }
  });
  it('an unknown command or option exits 1', async () => {
    expect((await ape('bogus')).code).toBe(1);
    expect((await ape('eval', SCOPED, 'read_file', '--bogus')).code).toBe(1);
  });
});
