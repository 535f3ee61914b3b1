/** `ape audit verify <file>`: checks the hash chain of a JSONL audit log; exit 0 intact, 2 tampered, 1 error. */
import type { Command } from 'commander';
import { verifyAuditFile } from '../../runtime/audit/chain.js';
import { ApeError } from '../../errors.js';
import type { CliIO } from '../io.js';

/** The audit log could not be read. */
export class AuditReadError extends ApeError {
  constructor(file: string, reason: string) {
    super('APE_AUDIT_READ', `${file}: ${reason}`);
  }
}

/** Registers `audit` (with `verify`) on the program. */
export function register(program: Command, io: CliIO): void {
  const audit = program.command('audit').description('work with APE audit logs');
  audit
    .command('verify')
    .description('verify the hash chain of a JSONL audit log (exit 0 intact, 2 tampered, 1 error)')
    .argument('<file>', 'JSONL audit log written by JsonlSink')
    .option('--head <hash>', 'the hash of the last line, kept elsewhere: also detects lines removed from the end')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExample:\n  $ ape audit verify audit.jsonl --head sha256:...')
    .action((file: string, options: { head?: string; json?: boolean }) => {
      let result;
      try {
        result = verifyAuditFile(file, options.head);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new AuditReadError(file, code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? 'error'})`);
      }
      if (options.json) io.out(JSON.stringify(result));
      else if (result.ok) io.out(`${file}: intact (${result.lines} events, head ${result.head})`);
      else io.err(`${file}:${result.line}: tampered: ${result.reason}`);
      io.exitCode = result.ok ? 0 : 2;
    });
  for (const sub of audit.commands) sub.exitOverride().configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) });
}
