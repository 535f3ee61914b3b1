/** `ape verify`: prove properties of a policy with an SMT solver, or print a counterexample `ape eval` confirms. */
import type { Command } from 'commander';
import type { Decision } from '../../compiler/ir.js';
import { solverLints, type SolverLint } from '../../verify/lints.js';
import { loadProperties, parseConditions, propertyFrom, PERMITTED, type Property } from '../../verify/properties.js';
import { DEFAULT_TIMEOUT_MS } from '../../verify/solver.js';
import { verifyProperties, type PropertyResult } from '../../verify/verify.js';
import type { CliIO } from '../io.js';
import { CliUsageError, collect, loadPolicy } from '../shared.js';

interface VerifyCliOptions {
  never?: string[];
  where?: string;
  alwaysWithin?: string[];
  properties?: string;
  decisions?: string;
  lint?: boolean;
  timeout: string;
  json?: boolean;
}

function parseDecisions(text: string | undefined): Decision[] {
  if (text === undefined) return PERMITTED;
  const list = text.split(',').map((d) => d.trim());
  for (const d of list) if (d !== 'allow' && d !== 'escalate' && d !== 'deny') throw new CliUsageError(`--decisions: '${d}' is not allow, escalate or deny`);
  return list as Decision[];
}

function commandLineProperties(options: VerifyCliOptions): Property[] {
  const decisions = parseDecisions(options.decisions);
  const out: Property[] = [];
  const where = options.where === undefined ? undefined : parseConditions(options.where, '--where');
  if (where && !options.never?.length) throw new CliUsageError('--where goes with --never');
  for (const action of options.never ?? []) {
    const name = `never ${action}${options.where ? ` where ${options.where}` : ''}`;
    out.push(propertyFrom({ name, never: action, decisions, ...(where ? { where } : {}) }));
  }
  const pairs = options.alwaysWithin ?? [];
  if (pairs.length % 2 !== 0) throw new CliUsageError('--always-within takes pairs: <action>.<param> <prefix>');
  for (let i = 0; i < pairs.length; i += 2) {
    const target = pairs[i] as string;
    const prefix = pairs[i + 1] as string;
    const dot = target.indexOf('.');
    if (dot <= 0 || dot === target.length - 1) throw new CliUsageError(`--always-within: '${target}' is not <action>.<param>`);
    out.push(propertyFrom({ name: `${target} within ${prefix}`, action: target.slice(0, dot), within: { [target.slice(dot + 1)]: prefix }, decisions }));
  }
  return out;
}

function printResult(io: CliIO, r: PropertyResult): void {
  const head = `${r.status.toUpperCase().padEnd(8)} ${r.property}`;
  if (r.status === 'proved') io.out(head);
  else if (r.status === 'unknown') io.out(`${head}\n  ${r.reason ?? ''}`);
  else io.out(`${head}\n  counterexample (${r.decision ?? '?'}): ${JSON.stringify(r.counterexample)}`);
}

function printLint(io: CliIO, l: SolverLint): void {
  io.out(`${l.status === 'found' ? 'LINT' : 'UNKNOWN'}  ${l.lint}  ${l.message}${l.example ? `\n  e.g. ${JSON.stringify(l.example)}` : ''}`);
}

/** Registers `verify` on the program. */
export function register(program: Command, io: CliIO): void {
  program
    .command('verify')
    .description('prove properties of a policy: exit 0 all proved, 2 refuted, 3 unknown, 1 error')
    .argument('<policy>', 'policy file')
    .option('--never <action>', 'prove no request for the action is allowed or escalated (repeatable)', collect)
    .option('--where <conditions>', 'with --never: only requests matching these conditions (YAML/JSON, e.g. "{path: {prefix: /etc/}}")')
    .option('--always-within <action.param prefix...>', 'prove every permitted request has the parameter under the prefix (pairs)')
    .option('--properties <file.yaml>', 'prove the named properties of a property file')
    .option('--decisions <list>', 'which outcomes count as permitted (default allow,escalate)')
    .option('--lint', 'run the solver lints (never-matching, shadowed, overlapping and unrestricted rules)')
    .option('--timeout <ms>', 'time limit of each solver query', String(DEFAULT_TIMEOUT_MS))
    .option('--json', 'print one JSON object per property (or lint) per line')
    .addHelpText(
      'after',
      `\nExamples:\n  $ ape verify policies/scoped_access.yaml --never delete_file\n  $ ape verify policies/scoped_access.yaml --always-within write_file.path /workspace/ --json\n  $ ape verify policies/scoped_access.yaml --properties props.yaml\n  $ ape verify policies/scoped_access.yaml --lint`,
    )
    .action(async (file: string, options: VerifyCliOptions) => {
      const timeoutMs = Number(options.timeout);
      if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new CliUsageError('--timeout must be a positive number of milliseconds');
      const properties = [...commandLineProperties(options), ...(options.properties ? loadProperties(options.properties) : [])];
      if (properties.length === 0 && !options.lint) throw new CliUsageError('nothing to verify: give --never, --always-within, --properties or --lint');
      const policy = loadPolicy(file);
      const results = await verifyProperties(policy, properties, { timeoutMs });
      const lints = options.lint ? await solverLints(policy, { timeoutMs }) : [];
      for (const r of results) {
        if (options.json) {
          const { ms: _ms, ...shown } = r;
          io.out(JSON.stringify(shown));
        } else printResult(io, r);
      }
      for (const l of lints) {
        if (options.json) io.out(JSON.stringify(l));
        else printLint(io, l);
      }
      const refuted = results.some((r) => r.status === 'refuted') || lints.some((l) => l.status === 'found');
      const unknown = results.some((r) => r.status === 'unknown') || lints.some((l) => l.status === 'unknown');
      io.exitCode = refuted ? 2 : unknown ? 3 : 0;
      if (!options.json && lints.length === 0 && options.lint) io.out('no solver lint findings');
    });
}
