/** Renders the intent, the allowed actions with their schemas and the policy constraints as a prompt for a planner model. */
import { standardAction, type ConditionIR, type PolicyIR } from '../../compiler/index.js';
import type { IntentInput } from '../../runtime/index.js';

/** The planner prompt: what the user asked, what may be used, what the policy requires, and the output format. */
export function toLlmPrompt(request: string, intent: IntentInput, ir: PolicyIR, tools: Record<string, string> = {}): string {
  const lines: string[] = [];
  lines.push('You plan tool calls for an agent. Answer with JSON only: {"steps": [{"action": "<id>", "tool": "<tool>", "parameters": {...}}]}.');
  lines.push('Use only the actions listed below, one step per call, with exactly the parameters their schema allows.');
  lines.push('', `User request: ${JSON.stringify(request)}`, '');
  lines.push('Allowed actions:');
  const section = (ids: readonly string[], note: string) => {
    for (const id of ids) {
      const a = ir.actions[id] ?? standardAction(id);
      if (!a) continue;
      lines.push(`- ${id}${tools[id] ? ` (tool: ${tools[id]})` : ''}${note}: ${a.description}`);
      lines.push(`  parameters schema: ${JSON.stringify(a.parameters)}`);
    }
  };
  section(intent.allowed_actions, '');
  section(intent.escalation_actions ?? [], ' [each call needs human approval]');
  if (intent.forbidden_actions && intent.forbidden_actions.length > 0) lines.push('', `Never use: ${intent.forbidden_actions.join(', ')}.`);
  if (intent.scope?.paths) lines.push(`Paths must be inside: ${intent.scope.paths.join(', ')}.`);
  if (intent.scope?.hosts) lines.push(`URLs must be on hosts: ${intent.scope.hosts.join(', ')}.`);
  const used = new Set([...intent.allowed_actions, ...(intent.escalation_actions ?? [])]);
  const rules = ir.rules.filter((r) => r.actions.some((a) => used.has(a)));
  if (rules.length > 0) {
    lines.push('', `Policy constraints (default: ${ir.defaultDecision}):`);
    for (const r of rules) {
      const conditions = r.conditions.map(conditionText).join(' and ');
      lines.push(`- ${r.id}: ${r.decision} ${r.actions.filter((a) => used.has(a)).join(', ')}${conditions ? ` when ${conditions}` : ''}`);
    }
  }
  return lines.join('\n');
}

function conditionText(c: ConditionIR): string {
  const { op, path } = c;
  const operand = 'values' in c ? c.values : 'patterns' in c ? c.patterns : 'ranges' in c ? c.ranges : 'labels' in c ? c.labels : 'names' in c ? c.names : 'pattern' in c ? c.pattern : c.value;
  return `${path} ${op} ${JSON.stringify(operand)}`;
}
