/** `ape diff <a> <b>`: which actions change decision between two policies, rule by rule. */
import type { Command } from 'commander';
import { diffPolicies } from '../../compiler/diff.js';
import type { CliIO } from '../io.js';
import { loadPolicy } from '../shared.js';
import { table } from '../table.js';

/** Registers `diff` on the program. */
export function register(program: Command, io: CliIO): void {
  program
    .command('diff')
    .description('show the actions whose action-level decision differs; exit 0 same, 2 different')
    .argument('<a>', 'old policy')
    .argument('<b>', 'new policy')
    .option('--json', 'print {"equivalent", "changes": [{"action", "a", "b"}]}')
    .addHelpText('after', '\nExample:\n  $ ape diff policies/minimal_safe.yaml policies/development.yaml')
    .action((fileA: string, fileB: string, options: { json?: boolean }) => {
      const a = loadPolicy(fileA);
      const b = loadPolicy(fileB);
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
      const show = (d: { decision: string; rule: string | null }) => `${d.decision.toUpperCase()} ${d.rule ? `(${d.rule})` : '(default)'}`;
      io.out(table(['ACTION', fileA, fileB], changes.map((c) => [c.action, show(c.a), show(c.b)])));
    });
}
