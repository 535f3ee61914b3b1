/** The orchestrator: prompt -> intent -> plan -> per-step decision and execution through the runtime, with pending approvals that can be resumed. */
import type { Decision, DecisionResult, JsonObject } from '../compiler/index.js';
import { ApeError } from '../index.js';
import {
  EscalationDeniedError,
  EscalationRequiredError,
  PlanValidationError,
  PolicyDenyError,
  SessionExpiredError,
  TenantMismatchError,
  type ApprovalHandler,
  type ApprovalResponse,
  type IntentInput,
  type Labeled,
  type PlanInput,
  type PlanStepInput,
  type Run,
} from '../runtime/index.js';
import type { Ape } from './ape.js';
import { AgentConfigError } from './errors.js';
import { compileIntent, policyStance, type CompiledIntent } from './intent/compile.js';
import { refineIntent, planWithModel, type ModelHook } from './model.js';
import { planFromIntent } from './plan/generate.js';
import { intentVerdict, validatePlan } from './plan/validate.js';
import type { AgentSession } from './session.js';

/** Overall outcome of an execution. */
export type ExecutionStatus = 'completed' | 'denied' | 'pending_approval' | 'failed' | 'partial';

/** Outcome of one step. */
export type StepStatus = 'completed' | 'denied' | 'pending_approval' | 'failed' | 'skipped';

/** An escalated step waiting for an approver: answer it with `Ape.resume`. */
export interface PendingApproval {
  requestId: string;
  step: number;
  action: string;
  tool: string;
  parameters: JsonObject;
  rule: string | null;
}

/** One step of an execution. */
export interface StepReport {
  step: number;
  action: string;
  tool: string;
  parameters: JsonObject;
  /** The policy's decision (with the intent), or null when the step never got to a decision. */
  decision: Decision | null;
  rule: string | null;
  reasons: string[];
  status: StepStatus;
  /** The tool's output, labeled with its provenance (untrusted unless the tool is a trusted source). */
  output?: Labeled<unknown>;
  error?: { code: string; message: string };
  /** Audit correlation id of the call. */
  call?: string;
  pending?: PendingApproval;
}

/** What `execute`, `executePlan` and `resume` return. */
export interface ExecutionResult {
  success: boolean;
  status: ExecutionStatus;
  prompt: string | null;
  intent: IntentInput | null;
  plan: PlanInput | null;
  steps: StepReport[];
  /** Steps waiting for approval. */
  pending: PendingApproval[];
  /** The run id (kept open while approvals are pending). */
  run: string | null;
  /** Why nothing ran (ambiguous prompt, invalid plan, expired session...). */
  error?: { code: string; message: string };
  /** @internal The typed error behind `error`, for `executeOrThrow`. */
  cause?: ApeError;
}

/** Options of `execute`, `executePlan` and `analyze`. */
export interface ExecuteOptions {
  /** Run in this session (default: the Ape's default session). */
  session?: AgentSession;
  /** Approver of this execution's escalated steps (default: the Ape's). */
  approve?: ApprovalHandler;
  /** Request context for the policy. */
  context?: JsonObject;
  /** Directory relative paths resolve against (default `/workspace`). */
  workspace?: string;
  /** A model that narrows the deterministic intent (validated, never widening). */
  intentModel?: ModelHook;
  /** A model that writes the plan (validated, repaired at most `maxRepairs` times). */
  planner?: ModelHook;
  maxRepairs?: number;
}

/** A step of `analyze`: the call and its decision, nothing run. */
export interface AnalyzedStep {
  step: number;
  action: string;
  tool: string;
  parameters: JsonObject;
  /** Parameters the prompt does not give. */
  missing: string[];
  decision: Decision;
  rule: string | null;
  reasons: string[];
}

/** What `analyze` returns. */
export interface Analysis {
  prompt: string;
  intent: IntentInput;
  plan: PlanInput;
  steps: AnalyzedStep[];
}

interface OpenRun {
  run: Run;
  unbind: () => void;
  /** Report index -> run step index. */
  runIndex: Map<number, number>;
  context: JsonObject | undefined;
}

const openRuns = new WeakMap<Ape, Map<string, OpenRun>>();
/** The typed error behind each refused or failed step report (kept out of the report's JSON). */
const stepErrors = new WeakMap<StepReport, ApeError>();

/** Compiles a prompt (and lets the models narrow it and plan it). Throws the typed errors. */
export async function prepare(ape: Ape, prompt: string, options: ExecuteOptions): Promise<{ compiled: CompiledIntent; plan: PlanInput }> {
  const ir = ape.policy.ir;
  let compiled = compileIntent(prompt, { policy: ir, ...(options.workspace !== undefined ? { workspace: options.workspace } : {}) });
  if (options.intentModel) compiled = await refineIntent(compiled, options.intentModel);
  const toolFor = (action: string) => ape.toolsFor(action)[0] ?? action;
  let plan: PlanInput;
  if (options.planner) {
    const tools: Record<string, string> = {};
    for (const a of [...compiled.intent.allowed_actions, ...(compiled.intent.escalation_actions ?? [])]) tools[a] = toolFor(a);
    const validate = (p: PlanInput) =>
      validatePlan(p, {
        intent: compiled.intent,
        ir,
        // An unregistered tool named like an action stands for it here; the runtime refuses it if it is not registered.
        toolAction: (tool) => ape.toolAction(tool) ?? (Object.hasOwn(tools, tool) ? tool : undefined),
        decide: (action, parameters) => ape.check(action, parameters, checkOptions(options)),
      });
    plan = await planWithModel(compiled, ir, options.planner, validate, { tools, ...(options.maxRepairs !== undefined ? { maxRepairs: options.maxRepairs } : {}) });
  } else {
    plan = planFromIntent(compiled, toolFor);
  }
  return { compiled, plan };
}

/** Prompt to execution. Never throws for a refused prompt or step: the result says what happened. */
export async function execute(ape: Ape, prompt: string, options: ExecuteOptions = {}): Promise<ExecutionResult> {
  let prepared: { compiled: CompiledIntent; plan: PlanInput };
  try {
    prepared = await prepare(ape, prompt, options);
  } catch (error) {
    return failed(prompt, null, null, error);
  }
  return runPlan(ape, prompt, prepared.compiled.intent, prepared.plan, options);
}

/** Executes a plan the caller brings, under `intent` (default: the plan's actions, narrowed by the policy). */
export async function executePlan(ape: Ape, plan: PlanInput, options: ExecuteOptions & { intent?: IntentInput } = {}): Promise<ExecutionResult> {
  let intent: IntentInput;
  try {
    if (plan === null || typeof plan !== 'object' || !Array.isArray(plan.steps)) throw new PlanValidationError(-1, 'shape', 'a plan is an object with "steps"');
    intent = options.intent ?? intentForPlan(ape, plan);
  } catch (error) {
    return failed(null, null, null, error);
  }
  return runPlan(ape, null, intent, plan, options);
}

/** The intent a bare plan implies: its actions, escalated or forbidden as the policy says. */
function intentForPlan(ape: Ape, plan: PlanInput): IntentInput {
  const allowed = new Set<string>();
  const escalation = new Set<string>();
  const forbidden = new Set<string>();
  for (const s of plan.steps) {
    if (s === null || typeof s !== 'object' || typeof s.action !== 'string') throw new PlanValidationError(-1, 'shape', 'every step needs an action');
    const stance = policyStance(ape.policy.ir, s.action);
    (stance === 'allow' ? allowed : stance === 'escalate' ? escalation : forbidden).add(s.action);
  }
  return { allowed_actions: [...allowed], escalation_actions: [...escalation], forbidden_actions: [...forbidden] };
}

/** Decides every step of a prompt's plan without running anything. Throws `IntentAmbiguityError` and the other typed errors. */
export async function analyze(ape: Ape, prompt: string, options: ExecuteOptions = {}): Promise<Analysis> {
  const { compiled, plan } = await prepare(ape, prompt, options);
  const steps: AnalyzedStep[] = [];
  for (const [i, step] of plan.steps.entries()) {
    const parameters = step.parameters ?? {};
    const missing = step.inputs ?? [];
    const base = { step: i, action: step.action, tool: step.tool, parameters, missing };
    steps.push({ ...base, ...(await decideStep(ape, compiled.intent, step, options)) });
  }
  return { prompt, intent: compiled.intent, plan, steps };
}

/** The decision a step would get: intent first, then the policy with its parameters. */
async function decideStep(ape: Ape, intent: IntentInput, step: PlanStepInput, options: ExecuteOptions): Promise<{ decision: Decision; rule: string | null; reasons: string[] }> {
  const verdict = intentVerdict(intent, step.action);
  if (verdict === 'forbidden') {
    const stance = policyStance(ape.policy.ir, step.action);
    if (stance === 'deny' && (step.inputs ?? []).length > 0) return { decision: 'deny', rule: unconditionalDeny(ape, step.action), reasons: [`the policy never allows '${step.action}'`] };
    if ((step.inputs ?? []).length === 0) {
      try {
        const d = await ape.check(step.action, step.parameters ?? {}, checkOptions(options));
        if (d.decision === 'deny') return { decision: 'deny', rule: d.rule, reasons: d.reasons };
      } catch {
        // fall through to the intent's verdict
      }
    }
    return { decision: 'deny', rule: 'intent:forbidden', reasons: [`action '${step.action}' is not allowed by the intent`] };
  }
  if ((step.inputs ?? []).length > 0) {
    const stance = policyStance(ape.policy.ir, step.action);
    if (stance === 'deny') return { decision: 'deny', rule: unconditionalDeny(ape, step.action), reasons: [`the policy never allows '${step.action}'`] };
    return { decision: 'escalate', rule: null, reasons: [`parameters ${(step.inputs ?? []).map((p) => `'${p}'`).join(', ')} are not in the prompt: the call is decided when they are known`] };
  }
  let d: DecisionResult;
  try {
    d = await ape.check(step.action, step.parameters ?? {}, checkOptions(options));
  } catch (error) {
    return { decision: 'deny', rule: null, reasons: [error instanceof Error ? error.message : String(error)] };
  }
  try {
    await validatePlan({ steps: [step] }, { intent, ir: ape.policy.ir, toolAction: () => step.action });
  } catch (error) {
    if (error instanceof PlanValidationError && error.reason === 'scope') return { decision: 'deny', rule: 'intent:scope', reasons: [error.message.replace(/^plan step \d+: /, '')] };
  }
  if (d.decision === 'allow' && verdict === 'escalate') return { decision: 'escalate', rule: 'intent:escalation_actions', reasons: [`action '${step.action}' needs approval under the intent`] };
  return { decision: d.decision, rule: d.rule, reasons: d.reasons };
}

function unconditionalDeny(ape: Ape, action: string): string | null {
  return ape.policy.ir.rules.find((r) => r.actions.includes(action) && r.decision === 'deny' && r.conditions.length === 0)?.id ?? null;
}

function checkOptions(options: ExecuteOptions): { context?: JsonObject; session?: AgentSession } {
  const o: { context?: JsonObject; session?: AgentSession } = {};
  if (options.context !== undefined) o.context = options.context;
  if (options.session !== undefined) o.session = options.session;
  return o;
}

/** Approves the plan in the runtime (refused steps are reported and dropped, one at a time, each refusal audited), then runs each step. */
async function runPlan(ape: Ape, prompt: string | null, intent: IntentInput, plan: PlanInput, options: ExecuteOptions): Promise<ExecutionResult> {
  const reports: StepReport[] = plan.steps.map((s, i) => ({
    step: i,
    action: String(s?.action),
    tool: String(s?.tool),
    parameters: s?.parameters ?? {},
    decision: null,
    rule: null,
    reasons: [],
    status: 'skipped',
  }));
  let run: Run;
  try {
    const handle = options.session ? await options.session.runtimeSession() : await ape.defaultSession();
    // Provenance by origin: the prompt is the user's own words; values found in it are labeled `user`.
    if (prompt !== null && ape.runtime.tracksOrigins) ape.runtime.origins(handle).recordInput('user', prompt);
    run = await ape.runtime.createRun(handle);
  } catch (error) {
    return failed(prompt, intent, plan, error);
  }
  const unbind = ape.bindRun(run, { approve: options.approve });
  const open: OpenRun = { run, unbind, runIndex: new Map(), context: options.context };
  let keepOpen = false;
  try {
    try {
      await run.setIntent(intent);
    } catch (error) {
      return failed(prompt, intent, plan, error);
    }
    let remaining = reports.map((r) => r.step);
    for (;;) {
      if (remaining.length === 0) break;
      try {
        await run.approvePlan({ steps: remaining.map((i) => plan.steps[i] as PlanStepInput) });
        break;
      } catch (error) {
        if (!(error instanceof PlanValidationError) || error.step < 0 || error.step >= remaining.length) return failed(prompt, intent, plan, error);
        const index = remaining[error.step] as number;
        const report = reports[index] as StepReport;
        await refuse(ape, report, error, intent, plan.steps[index] as PlanStepInput, options);
        remaining = remaining.filter((i) => i !== index);
      }
    }
    if (remaining.length === 0) return result(prompt, intent, plan, reports, null);
    remaining.forEach((reportIndex, runIndex) => open.runIndex.set(reportIndex, runIndex));
    run.start();
    for (const reportIndex of remaining) {
      const report = reports[reportIndex] as StepReport;
      const stop = await runStep(ape, open, report, open.runIndex.get(reportIndex) as number, undefined);
      if (stop) break;
    }
    keepOpen = reports.some((r) => r.status === 'pending_approval');
    if (keepOpen) {
      let runs = openRuns.get(ape);
      if (!runs) openRuns.set(ape, (runs = new Map()));
      runs.set(run.id, open);
    }
    return result(prompt, intent, plan, reports, run.id);
  } finally {
    if (!keepOpen) {
      unbind();
      await run.terminate();
    }
    if (options.session) await options.session.refresh().catch(() => undefined);
  }
}

/** Records a step the runtime refused at plan approval. */
async function refuse(ape: Ape, report: StepReport, error: PlanValidationError, intent: IntentInput, step: PlanStepInput, options: ExecuteOptions): Promise<void> {
  if (error.reason === 'policy' || error.reason === 'intent' || error.reason === 'scope') {
    const d = await decideStep(ape, intent, { ...step, inputs: [] }, options).catch(() => undefined);
    report.decision = 'deny';
    report.rule = d?.decision === 'deny' ? d.rule : error.reason === 'scope' ? 'intent:scope' : error.reason === 'intent' ? 'intent:forbidden' : null;
    report.reasons = d?.decision === 'deny' ? d.reasons : [error.message];
    report.status = 'denied';
    const deny = new PolicyDenyError(report.action, report.rule, report.reasons);
    report.error = { code: deny.code, message: deny.message };
    stepErrors.set(report, deny);
    return;
  }
  report.status = 'failed';
  report.error = { code: error.code, message: error.message };
  stepErrors.set(report, error);
}

/** Runs one approved step (or the approved retry of a pending one). Returns true when the rest must not run (session gone). */
async function runStep(ape: Ape, open: OpenRun, report: StepReport, index: number, approval: string | undefined): Promise<boolean> {
  const { run } = open;
  const options = { ...(open.context !== undefined ? { context: open.context } : {}), ...(approval !== undefined ? { approval } : {}) };
  try {
    if (ape.runtime.mode === 'enforce') {
      const auth = await run.authorize(index, options);
      report.decision = auth.approval ? 'escalate' : auth.decision.decision;
      report.rule = auth.decision.rule;
      report.reasons = auth.decision.reasons;
      const out = await run.execute(auth.token, auth.call);
      report.output = out.output;
      report.call = out.call;
    } else {
      const out = await run.executeStep(index, options);
      report.decision = 'allow';
      report.output = out.output;
      report.call = out.call;
    }
    report.status = 'completed';
    delete report.error;
    delete report.pending;
    return false;
  } catch (error) {
    const e = error instanceof ApeError ? error : new AgentConfigError(error instanceof Error ? error.message : String(error));
    report.error = { code: e.code, message: e.message };
    stepErrors.set(report, e);
    if (error instanceof PolicyDenyError) {
      report.decision = 'deny';
      report.rule = error.rule;
      report.reasons = error.reasons;
      report.status = 'denied';
    } else if (error instanceof EscalationRequiredError) {
      report.decision = 'escalate';
      report.rule = error.rule;
      report.status = 'pending_approval';
      report.pending = { requestId: error.requestId, step: report.step, action: report.action, tool: report.tool, parameters: report.parameters, rule: error.rule };
    } else if (error instanceof EscalationDeniedError) {
      report.decision = 'escalate';
      report.status = 'denied';
    } else {
      report.status = 'failed';
    }
    return error instanceof SessionExpiredError || error instanceof TenantMismatchError;
  }
}

/** Answers pending approvals of an execution and runs the approved steps. Unanswered ones stay pending. */
export async function resume(ape: Ape, previous: ExecutionResult, answers: Record<string, ApprovalResponse>): Promise<ExecutionResult> {
  const open = previous.run ? openRuns.get(ape)?.get(previous.run) : undefined;
  if (!open) throw new AgentConfigError('this execution has no pending approvals open (already resumed, finished, or from another Ape)');
  const reports = previous.steps.map((r) => {
    const copy = { ...r };
    const e = stepErrors.get(r);
    if (e) stepErrors.set(copy, e);
    return copy;
  });
  for (const report of reports) {
    if (report.status !== 'pending_approval' || !report.pending) continue;
    const answer = answers[report.pending.requestId];
    if (answer === undefined) continue;
    const index = open.runIndex.get(report.step) as number;
    try {
      const approval = await ape.runtime.resolveEscalation(report.pending.requestId, answer);
      if (!answer.approved) {
        const e = new EscalationDeniedError(report.action, report.pending.requestId, 'denied', answer.reason ?? '');
        report.status = 'denied';
        report.error = { code: e.code, message: e.message };
        stepErrors.set(report, e);
        delete report.pending;
        continue;
      }
      await runStep(ape, open, report, index, approval);
    } catch (error) {
      const e = error instanceof ApeError ? error : new AgentConfigError(String(error));
      report.status = 'failed';
      report.error = { code: e.code, message: e.message };
      stepErrors.set(report, e);
      delete report.pending;
    }
  }
  const out = result(previous.prompt, previous.intent, previous.plan, reports, previous.run);
  if (out.pending.length === 0) {
    openRuns.get(ape)?.delete(open.run.id);
    open.unbind();
    await open.run.terminate();
  }
  return out;
}

/** Ends every execution still waiting for approvals (their runs are terminated, approvals revoked). */
export async function cancelPending(ape: Ape): Promise<void> {
  const runs = openRuns.get(ape);
  if (!runs) return;
  for (const open of runs.values()) {
    open.unbind();
    await open.run.terminate();
  }
  runs.clear();
}

function result(prompt: string | null, intent: IntentInput | null, plan: PlanInput | null, steps: StepReport[], run: string | null): ExecutionResult {
  const pending = steps.filter((s) => s.status === 'pending_approval' && s.pending).map((s) => s.pending as PendingApproval);
  const count = (st: StepStatus) => steps.filter((s) => s.status === st).length;
  let status: ExecutionStatus;
  if (pending.length > 0) status = 'pending_approval';
  else if (count('completed') === steps.length && steps.length > 0) status = 'completed';
  else if (count('completed') > 0) status = 'partial';
  else if (count('denied') > 0 && count('failed') === 0) status = 'denied';
  else status = 'failed';
  return { success: status === 'completed', status, prompt, intent, plan, steps, pending, run };
}

function failed(prompt: string | null, intent: IntentInput | null, plan: PlanInput | null, error: unknown): ExecutionResult {
  const e = error instanceof ApeError ? error : new AgentConfigError(error instanceof Error ? error.message : String(error));
  return { success: false, status: 'failed', prompt, intent, plan, steps: [], pending: [], run: null, error: { code: e.code, message: e.message }, cause: e };
}

/** The typed error an execution result stands for (for `executeOrThrow`), or undefined when it completed. */
export function errorOf(r: ExecutionResult): ApeError | undefined {
  if (r.cause) return r.cause;
  if (r.status === 'completed') return undefined;
  for (const s of r.steps) {
    if (s.status === 'completed' || s.status === 'skipped') continue;
    const e = stepErrors.get(s);
    if (e) return e;
  }
  return new AgentConfigError(`execution ${r.status}`);
}
