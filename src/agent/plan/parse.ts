/** Parses a planner model's output into a plan: a JSON object or array, fenced JSON, or a numbered list of `action {json}` / `action key=value` lines. */
import type { JsonObject, JsonValue } from '../../compiler/index.js';
import { PlanValidationError, type PlanInput, type PlanStepInput } from '../../runtime/index.js';
import { plainCopy } from '../json-copy.js';

const ACTION = /^[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*$/;

/** Parses model output (text, or already-parsed JSON). Throws `PlanValidationError` (step -1, `shape`) when nothing plan-like is found. */
export function parsePlan(output: unknown): PlanInput {
  if (typeof output !== 'string') return fromJson(plainCopy(output, 'plan'));
  const text = output.trim();
  const fenced = /```(?:json|JSON)?\s*\n([\s\S]*?)```/.exec(text);
  for (const candidate of [fenced?.[1], text]) {
    if (candidate === undefined) continue;
    let parsed: JsonValue;
    try {
      parsed = JSON.parse(candidate) as JsonValue;
    } catch {
      continue;
    }
    return fromJson(parsed);
  }
  const steps = numberedSteps(text);
  if (steps.length > 0) return { steps };
  const embedded = firstJson(text);
  if (embedded !== undefined) {
    try {
      return fromJson(JSON.parse(embedded) as JsonValue);
    } catch (error) {
      if (error instanceof PlanValidationError) throw error;
    }
  }
  throw new PlanValidationError(-1, 'shape', 'the output holds no JSON plan and no numbered list of steps');
}

function fromJson(value: JsonValue): PlanInput {
  const steps = Array.isArray(value) ? value : value !== null && typeof value === 'object' && Array.isArray(value['steps']) ? value['steps'] : undefined;
  if (!steps) throw new PlanValidationError(-1, 'shape', 'a plan is an object with "steps" or an array of steps');
  return {
    steps: steps.map((s, i) => {
      if (s === null || typeof s !== 'object' || Array.isArray(s)) throw new PlanValidationError(i, 'shape', 'a step must be an object');
      const action = s['action'];
      if (typeof action !== 'string') throw new PlanValidationError(i, 'shape', 'a step needs an "action"');
      const step: PlanStepInput = { action, tool: typeof s['tool'] === 'string' ? s['tool'] : action };
      const params = s['parameters'] ?? s['params'] ?? s['arguments'];
      if (params !== undefined) {
        if (params === null || typeof params !== 'object' || Array.isArray(params)) throw new PlanValidationError(i, 'shape', '"parameters" must be an object');
        step.parameters = params;
      }
      return step;
    }),
  };
}

/** The first balanced `{...}` or `[...]` in a text. */
function firstJson(text: string): string | undefined {
  const start = text.search(/[[{]/);
  if (start < 0) return undefined;
  const open = text[start] as string;
  const close = open === '{' ? '}' : ']';
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === open) depth++;
    else if (c === close && --depth === 0) return text.slice(start, i + 1);
  }
  return undefined;
}

/** `1. read_file {"path": "/a"}`, `2) write_file path=/b content="hi"`, `- delete_file path=/c` (tool optional: `action via tool`). */
function numberedSteps(text: string): PlanStepInput[] {
  const steps: PlanStepInput[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(?:\d+[.)]|[-*])\s+`?([a-z][a-z0-9_.]*)`?(?:\s+(?:via|using|with tool)\s+`?([\w.-]+)`?)?\s*[:-]?\s*(.*)$/.exec(line);
    if (!m || !ACTION.test(m[1] as string)) continue;
    const action = m[1] as string;
    const rest = (m[3] ?? '').trim();
    const step: PlanStepInput = { action, tool: m[2] ?? action };
    const parameters = rest.startsWith('{') ? jsonParams(rest) : keyValues(rest);
    if (parameters && Object.keys(parameters).length > 0) step.parameters = parameters;
    steps.push(step);
  }
  return steps;
}

function jsonParams(text: string): JsonObject | undefined {
  const json = firstJson(text);
  if (!json) return undefined;
  try {
    const v = JSON.parse(json) as JsonValue;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function keyValues(text: string): JsonObject {
  const out: JsonObject = {};
  const re = /([A-Za-z_][\w]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S+)/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const raw = m[2] as string;
    let value: JsonValue = raw;
    if (raw.startsWith('"')) value = JSON.parse(raw) as string;
    else if (raw.startsWith("'")) value = raw.slice(1, -1);
    else if (/^-?\d+(?:\.\d+)?$/.test(raw)) value = Number(raw);
    else if (raw === 'true' || raw === 'false') value = raw === 'true';
    out[m[1] as string] = value;
  }
  return out;
}
