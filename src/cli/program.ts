/** The `ape` command-line program: one file per command, errors as one clear line. */
import { Command, CommanderError } from 'commander';
// Compile targets register themselves: rego, bundle, wasm (OPA); cedar; xacml; model, smt, tla (verification).
import '../targets.js';
import { ApeError } from '../errors.js';
import { register as registerActions } from './commands/actions.js';
import { register as registerAnalyze } from './commands/analyze.js';
import { register as registerAudit } from './commands/audit.js';
import { register as registerBundle } from './commands/bundle.js';
import { register as registerCompile } from './commands/compile.js';
import { register as registerDemo } from './commands/demo.js';
import { register as registerDiff } from './commands/diff.js';
import { register as registerEval } from './commands/eval.js';
import { register as registerMcpProxy } from './commands/mcp-proxy.js';
import { register as registerMcpScan } from './commands/mcp-scan.js';
import { register as registerSimulate } from './commands/simulate.js';
import { register as registerValidate } from './commands/validate.js';
import { register as registerVerify } from './commands/verify.js';
import { processIO, type CliIO } from './io.js';

/** Registers a command on the program. */
export type CommandRegistrar = (program: Command, io: CliIO) => void;

/** Every command, in help order. New commands add their registrar here. */
export const COMMANDS: CommandRegistrar[] = [
  registerValidate,
  registerEval,
  registerSimulate,
  registerActions,
  registerDiff,
  registerCompile,
  registerAudit,
  registerVerify,
  registerAnalyze,
  registerDemo,
  registerMcpScan,
  registerMcpProxy,
  registerBundle,
];

/** Builds the program writing to `io`. */
export function buildProgram(io: CliIO): Command {
  const program = new Command('ape')
    .description('APE, the Agent Policy Engine: a default-deny boundary between an AI agent and its tools')
    .version('0.1.0')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) });
  for (const register of COMMANDS) register(program, io);
  for (const command of program.commands) command.exitOverride().configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) });
  return program;
}

/** Runs the CLI on arguments (without `node` and the script) and returns the exit code. */
export async function runCli(args: string[], io: CliIO = processIO()): Promise<number> {
  const program = buildProgram(io);
  io.exitCode = 0;
  try {
    await program.parseAsync(args, { from: 'user' });
    return io.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 1;
    }
    const message = error instanceof ApeError ? error.message : `internal error: ${error instanceof Error ? error.message : String(error)}`;
    if (args.includes('--json')) {
      io.out(JSON.stringify({ error: { code: error instanceof ApeError ? error.code : 'APE_INTERNAL', message } }));
    }
    io.err(`ape: ${message}`);
    if (process.env['APE_DEBUG'] && error instanceof Error && error.stack) io.err(error.stack);
    return 1;
  }
}
