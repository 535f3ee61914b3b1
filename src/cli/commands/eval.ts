/** `ape eval`: decide one request, or a JSONL file of requests, with any engine. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { DecisionRequest } from '../../compiler/engine-input.js';
import type { DecisionResult } from '../../compiler/ir.js';
import { ApeError } from '../../errors.js';
import { createEvaluator, type Evaluator } from '../../evaluator.js';
import type { CliIO } from '../io.js';
import { applyParamPairs, CliUsageError, collect, DECISION_EXIT, loadPolicy, parseJsonObject } from '../shared.js';

interface EvalOptions {
  params?: string;
  param?: string[];
  context?: string;
  previousAction?: string;
  engine: string;
  json?: boolean;
  requests?: string;
  opaUrl?: string;
  xacmlUrl?: string;
}

function printDecision(io: CliIO, result: DecisionResult, json: boolean): void {
  if (json) {
    io.out(JSON.stringify(result));
    return;
  }
  io.out(`${result.decision.toUpperCase()}${result.rule ? ` by rule '${result.rule}'` : ' (default)'}`);
  if (result.matched.length) io.out(`  matched: ${result.matched.join(', ')}`);
  for (const reason of result.reasons) io.out(`  - ${reason}`);
  io.out(`  policy: ${result.policy_hash} (engine ${result.engine})`);
}

function errorObject(error: unknown): { code: string; message: string } {
  if (error instanceof ApeError) return { code: error.code, message: error.message };
  return { code: 'APE_INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

async function evalRequests(io: CliIO, evaluator: Evaluator, file: string): Promise<void> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliUsageError(`--requests ${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let failed = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    try {
      let request: unknown;
      try {
        request = JSON.parse(line);
      } catch (error) {
        throw new CliUsageError(`line ${i + 1} is not valid JSON: ${(error as Error).message}`);
      }
      if (request === null || typeof request !== 'object' || Array.isArray(request)) throw new CliUsageError(`line ${i + 1} is not a JSON object`);
      io.out(JSON.stringify(await evaluator.decide(request as DecisionRequest)));
    } catch (error) {
      failed = true;
      io.out(JSON.stringify({ line: i + 1, error: errorObject(error) }));
    }
  }
  io.exitCode = failed ? 1 : 0;
}

/** Registers `eval` on the program. */
export function register(program: Command, io: CliIO): void {
  program
    .command('eval')
    .description('decide a request: exit 0 allow, 2 deny, 3 escalate, 1 error')
    .argument('<policy>', 'policy file')
    .argument('[action]', 'action id (omit with --requests)')
    .option('--params <json>', 'parameters as a JSON object')
    .option('-p, --param <key=value>', 'one parameter (repeatable; dotted keys nest; values parse as JSON when they can)', collect)
    .option('--context <json>', 'request context as a JSON object')
    .option('--previous-action <id>', 'the action that ran before (for tool_transitions)')
    .option('--engine <name>', 'decision engine', 'native')
    .option('--opa-url <url>', 'OPA server base URL (engine opa-server)')
    .option('--xacml-url <url>', 'XACML PDP endpoint, JSON Profile (engine xacml)')
    .option('--requests <file.jsonl>', 'decide one request per line: {"action", "params", "context"}')
    .option('--json', 'print the decision as one JSON object')
    .addHelpText(
      'after',
      `\nExamples:\n  $ ape eval policies/scoped_access.yaml read_file -p path=/workspace/notes.md --json\n  $ ape eval policies/scoped_access.yaml --requests requests.jsonl --json`,
    )
    .action(async (file: string, action: string | undefined, options: EvalOptions) => {
      if (!options.requests && !action) throw new CliUsageError('eval needs an action (or --requests <file>)');
      if (options.requests && action) throw new CliUsageError('give either an action or --requests, not both');
      const policy = loadPolicy(file);
      const engineOptions = { ...(options.opaUrl ? { opaUrl: options.opaUrl } : {}), ...(options.xacmlUrl ? { xacmlUrl: options.xacmlUrl } : {}) };
      const evaluator = await createEvaluator(policy, options.engine, engineOptions);
      try {
        if (options.requests) {
          await evalRequests(io, evaluator, options.requests);
          return;
        }
        const params = applyParamPairs(options.params ? parseJsonObject(options.params, '--params') : {}, options.param ?? []);
        const request: DecisionRequest = { action: action as string, params };
        if (options.context) request.context = parseJsonObject(options.context, '--context');
        if (options.previousAction) request.previous_action = options.previousAction;
        const result = await evaluator.decide(request);
        printDecision(io, result, options.json ?? false);
        io.exitCode = DECISION_EXIT[result.decision];
      } finally {
        await evaluator.close();
      }
    });
}
