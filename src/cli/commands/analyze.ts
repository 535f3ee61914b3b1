/** `ape analyze` and `ape test-prompt`: a prompt's intent, plan and per-step decisions, nothing run. */
import type { Command } from 'commander';
import { Ape, IntentAmbiguityError, type Analysis } from '../../agent/index.js';
import type { CliIO } from '../io.js';
import { DECISION_EXIT, loadPolicy } from '../shared.js';

/** The policy `ape analyze` uses without `--policy`: the standard action repository alone (human-review actions escalate). */
export const REPOSITORY_POLICY = `name: standard_repository
version: "1.0.0"
description: The standard action repository alone; actions flagged for human review escalate.
default_decision: allow
risk:
  escalate_human_review: true
`;

interface PromptOptions {
  json?: boolean;
  workspace: string;
  engine: string;
}

/** The public JSON shape of an analysis (a contract: keep it exactly). */
export function analysisJson(a: Analysis): { intent: object; plan: object; decisions: object[] } {
  return {
    intent: {
      allowed_actions: a.intent.allowed_actions,
      forbidden_actions: a.intent.forbidden_actions ?? [],
      escalation_actions: a.intent.escalation_actions ?? [],
      scope: a.intent.scope ?? {},
    },
    plan: { steps: a.plan.steps.map((s) => ({ action: s.action, tool: s.tool, parameters: s.parameters ?? {} })) },
    decisions: a.steps.map((s) => ({ step: s.step, decision: s.decision, rule: s.rule, reasons: s.reasons })),
  };
}

async function analyzeWith(io: CliIO, policy: string | undefined, prompt: string, options: PromptOptions): Promise<Analysis | undefined> {
  const compiled = policy === undefined ? REPOSITORY_POLICY : loadPolicy(policy);
  const ape = await Ape.fromPolicy(compiled, { engine: options.engine });
  try {
    return await ape.analyze(prompt, { workspace: options.workspace });
  } catch (error) {
    if (!(error instanceof IntentAmbiguityError)) throw error;
    if (options.json) io.out(JSON.stringify({ error: { code: error.code, message: error.message, candidates: error.candidates } }));
    io.err(`ape: ${error.message}`);
    for (const c of error.candidates) io.err(`  candidate: ${c.actions.join(', ') || '(nothing)'} (${c.reason})`);
    io.exitCode = 1;
    return undefined;
  } finally {
    await ape.close();
  }
}

function printText(io: CliIO, a: Analysis): void {
  io.out(`intent: allowed [${a.intent.allowed_actions.join(', ')}]; escalate [${(a.intent.escalation_actions ?? []).join(', ')}]; forbidden [${(a.intent.forbidden_actions ?? []).join(', ')}]`);
  if (a.intent.scope?.paths) io.out(`  paths: ${a.intent.scope.paths.join(', ')}`);
  if (a.intent.scope?.hosts) io.out(`  hosts: ${a.intent.scope.hosts.join(', ')}`);
  for (const s of a.steps) {
    io.out(`${s.step + 1}. ${s.action} ${JSON.stringify(s.parameters)} -> ${s.decision.toUpperCase()}${s.rule ? ` by rule '${s.rule}'` : ''}`);
    if (s.missing.length > 0) io.out(`   missing: ${s.missing.join(', ')}`);
    for (const r of s.reasons) io.out(`   - ${r}`);
  }
}

/** Exit code of `test-prompt`: 2 when a step is denied, else 3 when one escalates, else 0. */
export function promptExitCode(a: Analysis): number {
  if (a.steps.some((s) => s.decision === 'deny')) return DECISION_EXIT.deny;
  if (a.steps.some((s) => s.decision === 'escalate')) return DECISION_EXIT.escalate;
  return DECISION_EXIT.allow;
}

/** Registers `analyze` and `test-prompt` on the program. */
export function register(program: Command, io: CliIO): void {
  program
    .command('analyze')
    .description('compile a prompt into an intent and a plan and decide each step (nothing runs)')
    .argument('<prompt>', 'the user prompt')
    .option('--policy <file>', 'policy file (default: the standard action repository alone)')
    .option('--workspace <dir>', 'directory relative paths resolve against', '/workspace')
    .option('--engine <name>', 'decision engine', 'native')
    .option('--json', 'print {"intent", "plan", "decisions"} as JSON')
    .addHelpText('after', '\nExample:\n  ape analyze "Read notes.md and delete old.log" --policy policies/minimal_safe.yaml --json')
    .action(async (prompt: string, options: PromptOptions & { policy?: string }) => {
      const a = await analyzeWith(io, options.policy, prompt, options);
      if (!a) return;
      if (options.json) io.out(JSON.stringify(analysisJson(a)));
      else printText(io, a);
      io.exitCode = 0;
    });
  program
    .command('test-prompt')
    .description('decide a prompt against a policy: exit 0 all allowed, 2 a step denied, 3 a step escalates, 1 error')
    .argument('<policy>', 'policy file')
    .argument('<prompt>', 'the user prompt')
    .option('--workspace <dir>', 'directory relative paths resolve against', '/workspace')
    .option('--engine <name>', 'decision engine', 'native')
    .option('--json', 'print {"intent", "plan", "decisions"} as JSON')
    .addHelpText('after', '\nExample:\n  ape test-prompt policies/minimal_safe.yaml "Read notes.md"')
    .action(async (policy: string, prompt: string, options: PromptOptions) => {
      const a = await analyzeWith(io, policy, prompt, options);
      if (!a) return;
      if (options.json) io.out(JSON.stringify(analysisJson(a)));
      else printText(io, a);
      io.exitCode = promptExitCode(a);
    });
}
