/**
 * Emits one Rego v1 package per policy (`package ape.<name>`): `decision` on the APE request as
 * written (see `request.ts`), `allow`, and `facts_decision` on APE's engine input, each equal to the
 * native evaluator's DecisionResult (less `engine`) where native decides.
 */
import {
  candidatePrefix,
  failureTemplate,
  missingReason,
  noRuleReason,
  ruleDecidedReason,
  transitionReason,
  TRANSITION_RULE,
} from '../explain.js';
import type { CompiledPolicy } from '../compile.js';
import type { ConditionIR, Decision, PolicyIR, RuleIR } from '../ir.js';
import { conditionCode, type ConditionCode, type Predicate } from './conditions.js';
import { writeLibrary } from './library.js';
import { writeRequestForm } from './request.js';
import { RegoWriter, code, fixed, ident, join, literal, member, RegoEmitError, stringLiteral, type Code } from './writer.js';

/** Precedence of a decision in the `_matched` tuples: the smallest tuple is the determining rule. */
const PRECEDENCE: Record<Decision, number> = { deny: 0, escalate: 1, allow: 2 };

/** The Rego package path of a policy, as segments (`["ape", name]`). */
export function packageSegments(policyName: string): [string, string] {
  ident(policyName);
  return ['ape', policyName];
}

/** The slash-separated path of the decision document for APE requests as written (Data API path). */
export function decisionPath(policyName: string): string {
  return `${packageSegments(policyName).join('/')}/decision`;
}

/** The slash-separated path of the decision on APE's engine input `{action, facts, previous_action}` (APE's own engines). */
export function factsDecisionPath(policyName: string): string {
  return `${packageSegments(policyName).join('/')}/facts_decision`;
}

/** The entrypoints of a policy's module, in a fixed order (wasm builds, `opa inspect`). */
export function entrypoints(policyName: string): string[] {
  const base = packageSegments(policyName).join('/');
  return [`${base}/decision`, `${base}/allow`, `${base}/facts_decision`];
}

/**
 * A runtime string built from an emit-time template: `render` is called with sentinels, and the
 * text around them becomes literals; each sentinel becomes the matching runtime term.
 */
function templated(render: (...args: string[]) => string, terms: readonly Code[]): Code {
  const sentinels = terms.map((_, i) => `\u0000${i}\u0000`);
  const pieces = render(...sentinels).split(/\u0000(\d+)\u0000/);
  const parts: Code[] = [];
  pieces.forEach((piece, i) => {
    if (i % 2 === 1) parts.push(terms[Number(piece)] as Code);
    else if (piece !== '') parts.push(stringLiteral(piece));
  });
  return code`concat("", [${join(parts, ', ')}])`;
}

const INPUT = fixed('input');
const FACTS = fixed('_facts');
const ACTION = member(INPUT, 'action');
const PREVIOUS = member(INPUT, 'previous_action');

function factRef(c: ConditionIR): Code {
  return member(FACTS, c.fact);
}

function call(name: string, c: ConditionIR, operand: Code): Code {
  return code`${ident(name)}(${stringLiteral(c.fact)}, ${operand})`;
}

/** The expression that makes a condition hold in a rule of this decision (missing values hold in deny/escalate rules). */
function holds(c: ConditionIR, cc: ConditionCode, decision: Decision): Code {
  const present = code`_present(${stringLiteral(c.fact)})`;
  if (cc.kind === 'presence') return cc.present ? present : code`not ${present}`;
  return decision === 'allow' ? call(`_${cc.predicate}`, c, cc.operand) : code`not ${call(`_not_${cc.predicate}`, c, cc.operand)}`;
}

/** The ways a condition of an allow rule fails: body expressions and the reason they give (with the rule prefix). */
function failures(rule: RuleIR, c: ConditionIR, cc: ConditionCode): { body: Code[]; reason: { code: Code; dynamic: boolean } }[] {
  const fact = factRef(c);
  const prefix = candidatePrefix(rule.id);
  if (cc.kind === 'presence') {
    const present = code`_present(${stringLiteral(c.fact)})`;
    return [{ body: [cc.present ? code`not ${present}` : present], reason: { code: stringLiteral(prefix + missingReason(c)), dynamic: false } }];
  }
  const ok = call(`_${cc.predicate}`, c, cc.operand);
  const bad = call(`_not_${cc.predicate}`, c, cc.operand);
  const template = failureTemplate(c);
  const reason =
    'static' in template
      ? { code: stringLiteral(prefix + template.static), dynamic: false }
      : { code: templated((v) => `${prefix}${template.head}${v}${template.tail}`, [template.places ? code`_places_text(${fact})` : fact]), dynamic: true };
  return [
    { body: [code`not ${ok}`, code`not ${bad}`], reason: { code: stringLiteral(prefix + missingReason(c)), dynamic: false } },
    { body: [bad], reason },
  ];
}

/** Writes a rule `head` with body lines, or the bare head when there is no body. */
function writeRule(w: RegoWriter, head: Code, body: readonly Code[]): void {
  if (body.length === 0) w.line(head);
  else w.block(code`${head} if {`, () => body.forEach((line) => w.line(line)));
  w.line();
}

/** Incremental definitions of a rule keyed by action, written grouped by action (first appearance order). */
class ActionRules {
  readonly #byAction = new Map<string, [Code, readonly Code[]][]>();

  /** Adds one definition of the action's rule. */
  add(action: string, head: Code, body: readonly Code[]): void {
    const list = this.#byAction.get(action) ?? [];
    list.push([head, body]);
    this.#byAction.set(action, list);
  }

  /** Writes every definition, each action's together (Regal's messy-rule). */
  write(w: RegoWriter): void {
    for (const list of this.#byAction.values()) for (const [head, body] of list) writeRule(w, head, body);
  }
}

/** The predicates and presence tests a policy uses, for the library. */
function usedPredicates(ir: PolicyIR): { predicates: Set<Predicate>; presence: boolean } {
  const predicates = new Set<Predicate>();
  let presence = false;
  for (const rule of ir.rules) {
    for (const c of rule.conditions) {
      const cc = conditionCode(c);
      if (cc.kind === 'presence') presence = true;
      else predicates.add(cc.predicate);
    }
  }
  return { predicates, presence };
}

/** The Rego module of a compiled policy: `package ape.<name>` with `decision`, `allow` and `facts_decision`. */
export function emitRego(policy: CompiledPolicy): string {
  const { ir, hash } = policy;
  const [root, name] = packageSegments(ir.name);
  const w = new RegoWriter();
  w.comment(`Code generated by APE from policy ${ir.name} ${ir.version} (${hash}). DO NOT EDIT.`);
  w.line();
  w.comment('METADATA');
  w.comment(`title: ${JSON.stringify(`APE policy ${ir.name} ${ir.version}`)}`);
  w.comment(`description: ${JSON.stringify(ir.description || `APE policy ${ir.name}`)}`);
  w.comment('custom:');
  w.comment(`  policy_hash: ${JSON.stringify(hash)}`);
  w.comment(`  default_decision: ${JSON.stringify(ir.defaultDecision)}`);
  w.line(code`package ${ident(root)}.${ident(name)}`);
  w.line();
  w.comment('policy_hash identifies the compiled policy every APE engine reports.');
  w.line(code`policy_hash := ${stringLiteral(hash)}`);
  w.line();
  w.comment('default_decision applies when no rule matches.');
  w.line(code`default_decision := ${stringLiteral(ir.defaultDecision)}`);
  w.line();
  writeEntrypoints(w, hash);
  writeDecision(w, ir);
  writeOutcome(w, ir);
  writeMatched(w, ir);
  writeWhy(w, ir);
  writeTransitions(w, ir);
  writeRisk(w, ir);
  const { predicates, presence } = usedPredicates(ir);
  writeLibrary(w, predicates, presence);
  writeRequestForm(w, ir);
  return w.toString();
}

/** Writes a METADATA block (document scope) whose values are JSON strings, which YAML reads as they are. */
function metadata(w: RegoWriter, title: string, description: string): void {
  w.comment('METADATA');
  w.comment('scope: document');
  w.comment(`title: ${JSON.stringify(title)}`);
  w.comment(`description: ${JSON.stringify(description)}`);
  w.comment('entrypoint: true');
}

/** `decision` (APE requests as written), `allow` and `facts_decision` (APE's engine input). */
function writeEntrypoints(w: RegoWriter, hash: string): void {
  const refused = 'the request is refused: it is not an APE request';
  metadata(
    w,
    'APE decision',
    'The decision for an APE request as written, {action, params, context, previous_action, provenance, sources}: decision, rule, matched, reasons and policy_hash, exactly as APE\'s native engine for canonical values. A request native refuses is denied with its error {code, message}; a value Rego cannot canonicalize exactly is denied with a reason naming it.',
  );
  const fallback = { decision: 'deny', rule: null, matched: [], reasons: [refused], policy_hash: hash };
  w.line(code`default decision := ${literal(fallback)}`);
  w.line();
  w.line(fixed('decision := {"decision": "deny", "rule": null, "matched": [], "reasons": [_refusal.message], "policy_hash": policy_hash, "error": _refusal} if {'));
  w.indented(() => w.line(fixed('is_object(_refusal)')));
  w.line(fixed('} else := {"decision": "deny", "rule": null, "matched": [], "reasons": _unsure_reasons, "policy_hash": policy_hash} if {'));
  w.indented(() => w.line(fixed('count(_unsure_reasons) > 0')));
  w.line(fixed('} else := _decision'));
  w.line();
  metadata(w, 'APE allow', 'true exactly when decision.decision is "allow" (escalate and deny are false).');
  w.line(fixed('default allow := false'));
  w.line();
  w.line(fixed('allow if decision.decision == "allow"'));
  w.line();
  metadata(
    w,
    'APE decision on engine input',
    "The decision for APE's engine input {action, facts, previous_action}, whose facts APE's TypeScript layer has checked and canonicalized. Not for raw requests: use decision.",
  );
  w.block(fixed('facts_decision := d if {'), () => {
    // `with` is how this entrypoint substitutes the checked facts for the ones computed from a raw request.
    w.line(fixed('# regal ignore:with-outside-test-context'));
    w.line(fixed('d := _decision with _facts as input.facts'));
  });
  w.line();
}

function writeDecision(w: RegoWriter, ir: PolicyIR): void {
  const outcome = fixed('_outcome');
  const entries = (list: [string, Code][]) => () => list.forEach(([key, value]) => w.line(code`${stringLiteral(key)}: ${value},`));
  const lines = (list: Code[]) => () => list.forEach((line) => w.line(line));
  w.comment('_decision is the APE decision on the facts (_facts):');
  w.comment('decision, rule, matched (policy order), reasons and policy_hash, as every APE engine returns them.');
  w.line(fixed('_decision := {'));
  if (Object.keys(ir.toolTransitions).length > 0) {
    const reason = templated((previous, action) => transitionReason(previous ?? '', action ?? ''), [PREVIOUS, ACTION]);
    w.indented(
      entries([
        ['decision', stringLiteral('deny')],
        ['rule', stringLiteral(TRANSITION_RULE)],
        ['matched', code`array.concat(_matched_ids, [${stringLiteral(TRANSITION_RULE)}])`],
        ['reasons', code`[${reason}]`],
        ['policy_hash', fixed('policy_hash')],
      ]),
    );
    w.line(fixed('} if {'));
    w.indented(lines([code`allowed := _next[${PREVIOUS}]`, code`not ${ACTION} in allowed`]));
    w.line(fixed('} else := {'));
  }
  if (ir.riskEscalations.length > 0) {
    w.indented(
      entries([
        ['decision', stringLiteral('escalate')],
        ['rule', fixed('risk.rule')],
        ['matched', fixed('_matched_ids')],
        ['reasons', fixed('[risk.reason]')],
        ['policy_hash', fixed('policy_hash')],
      ]),
    );
    w.line(fixed('} if {'));
    w.indented(lines([code`${member(outcome, 'decision')} == ${stringLiteral('allow')}`, code`risk := _risk[${ACTION}]`]));
    w.line(fixed('} else := {'));
  }
  w.indented(
    entries([
      ['decision', member(outcome, 'decision')],
      ['rule', member(outcome, 'rule')],
      ['matched', fixed('_matched_ids')],
      ['reasons', member(outcome, 'reasons')],
      ['policy_hash', fixed('policy_hash')],
    ]),
  );
  w.line(fixed('}'));
  w.line();
}

function writeOutcome(w: RegoWriter, ir: PolicyIR): void {
  const hasRules = ir.rules.length > 0;
  const hasAllow = hasWhy(ir);
  w.comment('_hits holds the rules of the input action that match (see _matched).');
  if (hasRules) {
    w.line(fixed('default _hits := set()'));
    w.line();
    w.line(code`_hits := _matched[${ACTION}]`);
  } else {
    w.line(fixed('_hits := set()'));
  }
  w.line();
  w.comment('_matched_ids are the ids of the matching rules, in policy order.');
  w.line(fixed('_matched_ids := [id | some [_, id] in sort({[i, id] | some [_, i, id, _] in _hits})]'));
  w.line();
  w.comment('_outcome: the first matching rule of the highest precedence decides; else the default, with why.');
  const decided = templated((d, id) => ruleDecidedReason((d ?? 'deny') as Decision, id ?? ''), [fixed('d'), fixed('id')]);
  w.block(code`_outcome := {"decision": d, "rule": id, "reasons": [${decided}]} if {`, () => {
    w.line(fixed('count(_hits) > 0'));
    w.line(fixed('[_, _, id, d] := min(_hits)'));
  }, code`} else := {"decision": default_decision, "rule": null, "reasons": _default_reasons}`);
  w.line();
  const noRule = templated((a) => noRuleReason(ir, a ?? ''), [ACTION]);
  w.comment('_default_reasons: why each candidate allow rule failed, else that no rule matches.');
  if (hasAllow) {
    w.block(fixed('_default_reasons := [reason | some [_, _, reason] in sort(why)] if {'), () => {
      w.line(code`why := _why[${ACTION}]`);
      w.line(fixed('count(why) > 0'));
    }, code`} else := [${noRule}]`);
  } else {
    w.line(code`_default_reasons := [${noRule}]`);
  }
  w.line();
}

function writeMatched(w: RegoWriter, ir: PolicyIR): void {
  if (ir.rules.length === 0) return;
  w.comment('_matched[action] holds [precedence, index, id, decision] for each rule of the action that matches:');
  w.comment('precedence deny 0, escalate 1, allow 2; index is the rule\'s place in the policy.');
  const rules = new ActionRules();
  ir.rules.forEach((rule, index) => {
    const tuple = literal([PRECEDENCE[rule.decision], index, rule.id, rule.decision]);
    const body = rule.conditions.map((c) => holds(c, conditionCode(c), rule.decision));
    for (const action of rule.actions) rules.add(action, code`${member(fixed('_matched'), action)} contains ${tuple}`, body);
  });
  rules.write(w);
}

/** Whether some allow rule has a condition, so `_why` has a definition. */
function hasWhy(ir: PolicyIR): boolean {
  return ir.rules.some((r) => r.decision === 'allow' && r.conditions.length > 0);
}

function writeWhy(w: RegoWriter, ir: PolicyIR): void {
  if (!hasWhy(ir)) return;
  w.comment('_why[action] holds [index, condition, reason] for each failing condition of an allow rule of the action.');
  const rules = new ActionRules();
  ir.rules.forEach((rule, index) => {
    if (rule.decision !== 'allow') return;
    rule.conditions.forEach((c, ci) => {
      for (const { body, reason } of failures(rule, c, conditionCode(c))) {
        const computed = reason.dynamic;
        const tuple = code`[${literal(index)}, ${literal(ci)}, ${computed ? fixed('reason') : reason.code}]`;
        const lines = computed ? [...body, code`reason := ${reason.code}`] : body;
        for (const action of rule.actions) rules.add(action, code`${member(fixed('_why'), action)} contains ${tuple}`, lines);
      }
    });
  });
  rules.write(w);
}

function writeTransitions(w: RegoWriter, ir: PolicyIR): void {
  const entries = Object.entries(ir.toolTransitions);
  if (entries.length === 0) return;
  w.comment('_next[previous] is the set of actions that may follow the previous action (tool_transitions).');
  for (const [from, to] of entries) w.line(code`${member(fixed('_next'), from)} := ${literal(new Set(to))}`).line();
}

function writeRisk(w: RegoWriter, ir: PolicyIR): void {
  if (ir.riskEscalations.length === 0) return;
  w.comment('_risk[action]: an allowed action of this risk is escalated, with this rule id and reason.');
  for (const r of ir.riskEscalations) {
    w.line(code`${member(fixed('_risk'), r.action)} := {"rule": ${stringLiteral(r.rule)}, "reason": ${stringLiteral(r.reason)}}`).line();
  }
}

export { RegoEmitError };
