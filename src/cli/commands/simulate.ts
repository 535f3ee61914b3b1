/** `ape simulate <policy> <action...>`: action-level decisions, as a table (the Python APE's view). */
import type { Command } from 'commander';
import { simulate } from '../../compiler/simulate.js';
import type { CliIO } from '../io.js';
import { loadPolicy } from '../shared.js';
import { table } from '../table.js';

/** Registers `simulate` on the program. */
export function register(program: Command, io: CliIO): void {
  program
    .command('simulate')
    .description('show the decision each action gets before its parameters are known')
    .argument('<policy>', 'policy file')
    .argument('<action...>', 'action ids')
    .option('--json', 'print one JSON object per action')
    .addHelpText('after', '\nExample:\n  $ ape simulate policies/minimal_safe.yaml read_file write_file delete_file')
    .action((file: string, actions: string[], options: { json?: boolean }) => {
      const policy = loadPolicy(file);
      const results = actions.map((a) => simulate(policy.ir, a));
      if (options.json) {
        for (const r of results) io.out(JSON.stringify(r));
        return;
      }
      io.out(`Policy ${policy.ir.name} ${policy.ir.version} (default ${policy.ir.defaultDecision}, ${policy.hash})`);
      io.out(
        table(
          ['ACTION', 'DECISION', 'RULE'],
          results.map((r) => [
            r.action,
            r.decision === 'conditional' ? `CONDITIONAL (${r.possible.join('/')})` : r.decision.toUpperCase(),
            r.decision === 'conditional' ? r.conditionalRules.join(', ') : (r.rule ?? '(default)'),
          ]),
        ),
      );
    });
}
