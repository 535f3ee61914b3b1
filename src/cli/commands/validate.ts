/** `ape validate <policy...>`: every diagnostic of every file; exit 1 when any is an error. */
import type { Command } from 'commander';
import { checkPolicyFile } from '../../compiler/compile.js';
import { formatDiagnostic, hasErrors, type Diagnostic } from '../../compiler/diagnostics.js';
import { ApeError } from '../../errors.js';
import type { CliIO } from '../io.js';

/** Registers `validate` on the program. */
export function register(program: Command, io: CliIO): void {
  program
    .command('validate')
    .description('check policies; print every error and warning as file:line:col code message')
    .argument('<policy...>', 'policy files (YAML or JSON)')
    .option('--json', 'print the diagnostics as one JSON array')
    .addHelpText('after', '\nExample:\n  $ ape validate policies/*.yaml')
    .action((files: string[], options: { json?: boolean }) => {
      const all: Diagnostic[] = [];
      let failed = false;
      for (const file of files) {
        let diagnostics: Diagnostic[];
        try {
          diagnostics = checkPolicyFile(file).diagnostics;
        } catch (error) {
          if (!(error instanceof ApeError)) throw error;
          failed = true;
          all.push({ code: 'yaml-syntax', severity: 'error', message: error.message, file, line: 1, column: 1, path: [] });
          if (!options.json) io.err(error.message);
          continue;
        }
        all.push(...diagnostics);
        if (hasErrors(diagnostics)) failed = true;
        if (!options.json) {
          for (const d of diagnostics) (d.severity === 'error' ? io.err : io.out)(formatDiagnostic(d));
          if (!hasErrors(diagnostics)) {
            const warnings = diagnostics.length;
            io.out(`${file}: valid${warnings ? ` (${warnings} warning${warnings > 1 ? 's' : ''})` : ''}`);
          }
        }
      }
      if (options.json) io.out(JSON.stringify(all, null, 2));
      io.exitCode = failed ? 1 : 0;
    });
}
