/** `ape actions`: the standard action repository. */
import type { Command } from 'commander';
import { standardActions } from '../../compiler/repository.js';
import type { CliIO } from '../io.js';
import { table } from '../table.js';

/** Registers `actions` on the program. */
export function register(program: Command, io: CliIO): void {
  program
    .command('actions')
    .description('list the standard actions with category, risk, review flag and parameters')
    .option('--by-category', 'group by category')
    .option('--json', 'print the repository as JSON')
    .addHelpText('after', '\nExample:\n  $ ape actions --by-category')
    .action((options: { byCategory?: boolean; json?: boolean }) => {
      const actions = standardActions();
      if (options.json) {
        const list = actions.map((a) => ({
          id: a.id,
          category: a.category,
          risk_level: a.risk,
          requires_human_review: a.humanReview,
          description: a.description,
          parameters: a.parameters,
        }));
        if (options.byCategory) {
          const grouped: Record<string, typeof list> = {};
          for (const a of list) (grouped[a.category] ??= []).push(a);
          io.out(JSON.stringify(grouped, null, 2));
        } else io.out(JSON.stringify(list, null, 2));
        return;
      }
      const row = (a: (typeof actions)[number]) => [
        a.id,
        a.category,
        a.risk,
        a.humanReview ? 'yes' : 'no',
        Object.keys((a.parameters['properties'] as object | undefined) ?? {}).join(', '),
      ];
      if (!options.byCategory) {
        io.out(table(['ACTION', 'CATEGORY', 'RISK', 'REVIEW', 'PARAMETERS'], actions.map(row)));
        return;
      }
      const categories = [...new Set(actions.map((a) => a.category))];
      io.out(
        categories
          .map((c) => `${c}\n${table(['ACTION', 'CATEGORY', 'RISK', 'REVIEW', 'PARAMETERS'], actions.filter((a) => a.category === c).map(row))}`)
          .join('\n\n'),
      );
    });
}
