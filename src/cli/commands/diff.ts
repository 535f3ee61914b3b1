/** `ape diff <a> <b>`: the actions whose action-level decision or deciding rule differs between two policies. */
import type { Command } from 'commander';
import { diffPolicies } from '../../compiler/diff.js';
import { semanticDiff } from '../../verify/semantic-diff.js';
import { DEFAULT_TIMEOUT_MS } from '../../verify/solver.js';
import type { CliIO } from '../io.js';
import { CliUsageError, loadPolicy } from '../shared.js';
import { table } from '../table.js';

/** Registers `diff` on the program. */
export function register(program: Command, io: CliIO): void {
  program
    .command('diff')
    .description('show the actions whose action-level decision or deciding rule differs; exit 0 same, 2 different')
    .argument('<a>', 'old policy')
    .argument('<b>', 'new policy')
    .option('--json', 'print {"equivalent", "changes": [{"action", "a", "b"}]} (with --semantic: {"equivalent", "differences": [{"action", "request", "a", "b"}]})')
    .option('--semantic', 'decide, with an SMT solver, whether the policies decide every request alike (exit 0 equivalent, 2 different, 3 unknown)')
    .option('--narrowing-only', 'with --semantic: fail (exit 2) only when the new policy is more permissive for some request')
    .option('--timeout <ms>', 'with --semantic: time limit of each solver query', String(DEFAULT_TIMEOUT_MS))
    .addHelpText('after', '\nExamples:\n  $ ape diff policies/minimal_safe.yaml policies/development.yaml\n  $ ape diff old.yaml new.yaml --semantic --narrowing-only --json')
    .action(async (fileA: string, fileB: string, options: { json?: boolean; semantic?: boolean; narrowingOnly?: boolean; timeout: string }) => {
      const a = loadPolicy(fileA);
      const b = loadPolicy(fileB);
      if (options.narrowingOnly && !options.semantic) throw new CliUsageError('--narrowing-only goes with --semantic');
      if (options.semantic) {
        await runSemantic(io, a, b, options);
        return;
      }
      const changes = diffPolicies(a.ir, b.ir);
      io.exitCode = changes.length === 0 ? 0 : 2;
      if (options.json) {
        io.out(JSON.stringify({ equivalent: changes.length === 0, changes }, null, 2));
        return;
      }
      if (changes.length === 0) {
        io.out(`no action changes decision (${a.ir.name} -> ${b.ir.name})`);
        return;
      }
      const show = (d: { decision: string; rule: string | null; possible: string[] }) =>
        d.decision === 'conditional' ? `CONDITIONAL (${d.possible.join('/')})` : `${d.decision.toUpperCase()} ${d.rule ? `(${d.rule})` : '(default)'}`;
      io.out(table(['ACTION', fileA, fileB], changes.map((c) => [c.action, show(c.a), show(c.b)])));
    });
}

async function runSemantic(
  io: CliIO,
  a: ReturnType<typeof loadPolicy>,
  b: ReturnType<typeof loadPolicy>,
  options: { json?: boolean; narrowingOnly?: boolean; timeout: string },
): Promise<void> {
  const timeoutMs = Number(options.timeout);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new CliUsageError('--timeout must be a positive number of milliseconds');
  const result = await semanticDiff(a, b, { timeoutMs, narrowingOnly: options.narrowingOnly ?? false });
  const failing = options.narrowingOnly ? (result.widenings ?? []) : result.differences;
  io.exitCode = failing.length > 0 ? 2 : result.unknown.length > 0 ? 3 : 0;
  if (options.json) {
    const { unknown, ...shown } = result;
    io.out(JSON.stringify(unknown.length > 0 ? result : shown, null, 2));
    return;
  }
  if (result.equivalent) io.out(`the policies decide every request alike (${a.ir.name} -> ${b.ir.name})`);
  for (const d of result.differences) io.out(`${d.action}: ${d.a} -> ${d.b}  e.g. ${JSON.stringify(d.request)}`);
  for (const w of result.widenings ?? []) io.out(`WIDER ${w.action}: ${w.a} -> ${w.b}  e.g. ${JSON.stringify(w.request)}`);
  for (const u of result.unknown) io.out(`UNKNOWN ${u.action}: ${u.reason}`);
  if (options.narrowingOnly && failing.length === 0 && result.unknown.length === 0) io.out('the new policy permits nothing the old one did not');
}
