/** `ape demo` (what `npm start` runs): an agent session on the default policy with real file tools in a temporary workspace, a scripted approver, the audit trail and its hash chain. */
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { Ape, type ApprovalRequest, type ApprovalResponse, type ExecutionResult } from '../../agent/index.js';
import { JsonlSink, verifyAuditFile, type AuditEvent } from '../../runtime/index.js';
import type { CliIO } from '../io.js';

/** The embedded default policy. */
const DEFAULT_POLICY = fileURLToPath(new URL('../../../policies/minimal_safe.yaml', import.meta.url));

/** The prompts of the demo, in order. */
export const DEMO_PROMPTS = [
  'Read notes.md and config.json',
  "Write 'Standup moved to 10:00' to summary.md",
  "Append 'buy milk' to todo.md",
  'Delete old.log',
  "Don't delete anything, just list the drafts/ folder",
  'Read /etc/passwd',
  'Please confirm the order',
];

/** Maps the policy's `/workspace/...` onto the temporary folder (and refuses anything outside it). */
function workspacePath(root: string, path: string): string {
  const normalized = posix.normalize(path);
  if (normalized !== '/workspace' && !normalized.startsWith('/workspace/')) throw new Error(`${path} is outside /workspace`);
  const real = join(root, normalized.slice('/workspace'.length));
  if (relative(root, real).startsWith('..')) throw new Error(`${path} is outside /workspace`);
  return real;
}

/** Approves the write to summary.md, refuses everything else. */
function scriptedApprover(io: CliIO): (request: ApprovalRequest) => Promise<ApprovalResponse> {
  return async (request) => {
    const p = request.params;
    const path = p !== null && typeof p === 'object' && !Array.isArray(p) ? (p as Readonly<Record<string, unknown>>)['path'] : undefined;
    const yes = request.action === 'write_file' && path === '/workspace/summary.md';
    io.out(`   approver: ${yes ? 'APPROVES' : 'REFUSES'} ${request.action} ${JSON.stringify(request.params)} (rule ${request.rule ?? '-'})`);
    return yes ? { approved: true, approver: 'demo-approver' } : { approved: false, approver: 'demo-approver', reason: 'not on the approved list' };
  };
}

function printResult(io: CliIO, r: ExecutionResult): void {
  if (r.error) {
    io.out(`  ${r.status.toUpperCase()}: ${r.error.code} ${r.error.message}`);
    return;
  }
  io.out(`  intent: allowed [${r.intent?.allowed_actions.join(', ')}] escalate [${(r.intent?.escalation_actions ?? []).join(', ')}] forbidden [${(r.intent?.forbidden_actions ?? []).join(', ')}]`);
  for (const s of r.steps) {
    const out = s.output === undefined ? '' : ` -> ${JSON.stringify(s.output.value).slice(0, 60)}`;
    io.out(`  ${s.step + 1}. ${s.action} ${JSON.stringify(s.parameters)}: ${(s.decision ?? '-').toUpperCase()}${s.rule ? ` (${s.rule})` : ''} => ${s.status}${out}${s.error && s.status !== 'completed' ? ` [${s.error.code}]` : ''}`);
  }
  io.out(`  status: ${r.status}`);
}

function eventLine(e: AuditEvent & { seq?: number }): string {
  const d = e.data ?? {};
  const detail = e.type === 'decision' ? ` ${String(d['decision'])}${d['rule'] ? ` (${String(d['rule'])})` : ''}` : e.type === 'plan.rejected' ? ` ${String(d['code'])}` : '';
  return `  #${String(e.seq).padStart(3)} ${e.type.padEnd(20)} ${e.action ?? ''}${detail}`;
}

/** Runs the demo; returns false when the audit chain does not verify. */
export async function runDemo(io: CliIO, options: { keep?: boolean } = {}): Promise<boolean> {
  const root = mkdtempSync(join(tmpdir(), 'ape-demo-'));
  const auditFile = join(root, '..', `${root.split(/[\\/]/).pop() ?? 'ape-demo'}.audit.jsonl`);
  try {
    writeFileSync(join(root, 'notes.md'), '# Notes\n- ship the agent layer\n');
    writeFileSync(join(root, 'config.json'), '{"debug": false}\n');
    writeFileSync(join(root, 'todo.md'), '- write docs\n');
    writeFileSync(join(root, 'old.log'), 'old\n');
    mkdirSync(join(root, 'drafts'));
    writeFileSync(join(root, 'drafts', 'plan.md'), 'plan\n');
    io.out(`APE demo: policy ${relative(process.cwd(), DEFAULT_POLICY) || DEFAULT_POLICY}; /workspace is ${root}`);

    const ape = await Ape.fromPolicy(DEFAULT_POLICY, { audit: [new JsonlSink(auditFile)], approvals: scriptedApprover(io) });
    try {
      const at = (p: { path: string }) => workspacePath(root, p.path);
      ape.tool<{ path: string }, string>('read_file', (p) => readFileSync(at(p), 'utf8'), { name: 'fs.read' });
      ape.tool<{ path: string }, string[]>('list_directory', (p) => readdirSync(at(p)).sort(), { name: 'fs.list' });
      ape.tool<{ path: string; content: string }, number>('write_file', (p) => (writeFileSync(at(p), p.content), p.content.length), { name: 'fs.write' });
      ape.tool<{ path: string; content: string }, number>('append_file', (p) => (appendFileSync(at(p), `${p.content}\n`), p.content.length), { name: 'fs.append' });
      ape.tool<{ path: string }, boolean>('delete_file', (p) => (unlinkSync(at(p)), true), { name: 'fs.delete' });

      const session = ape.createSession({ userId: 'newcomer', ttlMinutes: 10 });
      for (const prompt of DEMO_PROMPTS) {
        io.out(`\n> ${prompt}`);
        printResult(io, await session.execute(prompt));
      }
      const usage = await session.usageSummary();
      io.out(`\nsession ${usage.id}: ${usage.actionsRun} actions run, cumulative risk ${usage.cumulativeRisk}, counts ${JSON.stringify(usage.counts)}`);
      io.out(`workspace now: ${readdirSync(root).sort().join(', ')}; summary.md = ${JSON.stringify(readFileSync(join(root, 'summary.md'), 'utf8'))}`);
    } finally {
      await ape.close();
    }

    const lines = readFileSync(auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditEvent & { seq: number });
    io.out(`\naudit trail (${auditFile}, ${lines.length} events):`);
    for (const e of lines) if (e.type !== 'state.changed') io.out(eventLine(e));
    const verified = verifyAuditFile(auditFile);
    if (verified.ok) io.out(`\nhash chain verified: ${verified.lines} lines, head ${verified.head}`);
    else io.out(`\nhash chain BROKEN at line ${verified.line}: ${verified.reason}`);
    return verified.ok;
  } finally {
    if (!options.keep) {
      rmSync(root, { recursive: true, force: true });
      rmSync(auditFile, { force: true });
    }
  }
}

/** Registers `demo` on the program. */
export function register(program: Command, io: CliIO): void {
  program
    .command('demo')
    .description('run the agent demo: prompts allowed, denied and escalated on the default policy, then the verified audit trail')
    .option('--keep', 'keep the temporary workspace and audit log')
    .addHelpText('after', '\nExample:\n  ape demo        (what npm start runs)')
    .action(async (options: { keep?: boolean }) => {
      io.exitCode = (await runDemo(io, options)) ? 0 : 1;
    });
}
