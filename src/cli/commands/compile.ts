/** `ape compile <policy> --target <name> [-o path]`: emit the IR or a back end's output. */
import type { Command } from 'commander';
import { getTarget, targetNames } from '../../compiler/targets.js';
import type { CliIO } from '../io.js';
import { CliUsageError, loadPolicy } from '../shared.js';

interface CompileOptions {
  target: string;
  output?: string;
  signingKey?: string;
  signingAlg?: string;
}

/** Registers `compile` on the program. */
export function register(program: Command, io: CliIO): void {
  program
    .command('compile')
    .description('compile a policy to a target (see --target)')
    .argument('<policy>', 'policy file')
    .option('-t, --target <name>', 'what to emit', 'ir')
    .option('-o, --output <path>', 'where to write (default: stdout when the target is text)')
    .option('--signing-key <file>', 'key to sign a bundle with')
    .option('--signing-alg <alg>', 'bundle signing algorithm (RS256, HS256, ...)')
    .addHelpText('after', () => `\nTargets: ${targetNames().join(', ')}\n\nExample:\n  $ ape compile policies/scoped_access.yaml --target ir -o scoped_access.ir.json`)
    .action(async (file: string, options: CompileOptions) => {
      const target = getTarget(options.target);
      if (!target) throw new CliUsageError(`unknown target '${options.target}'; expected one of ${targetNames().join(', ')}`);
      const policy = loadPolicy(file);
      const targetOptions: Record<string, string> = {};
      if (options.output) targetOptions['output'] = options.output;
      if (options.signingKey) targetOptions['signingKey'] = options.signingKey;
      if (options.signingAlg) targetOptions['signingAlg'] = options.signingAlg;
      const result = await target.emit(policy, targetOptions);
      if (result.stdout !== undefined) io.out(result.stdout.replace(/\n$/, ''));
      for (const written of result.written) io.err(`wrote ${written}`);
    });
}
