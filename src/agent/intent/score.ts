/** Scores the intent compiler on a labelled corpus: precision and recall of actions and parameters, with the side-effecting actions apart. */
import { standardAction, type JsonObject, type JsonValue } from '../../compiler/index.js';
import { IntentAmbiguityError } from '../errors.js';
import { compileIntent, type IntentCompilerOptions } from './compile.js';

/** One labelled prompt (see test/agent/corpus.ts). */
export interface LabelledPrompt {
  prompt: string;
  actions?: string[];
  params?: Record<string, JsonObject[]>;
  forbidden?: string[];
  ambiguous?: true;
}

/** Counts and ratios of one measure. */
export interface Ratio {
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
}

/** What a corpus run measured, and every miss. */
export interface CorpusScore {
  prompts: number;
  actions: Ratio;
  /** Actions other than reads (file_read, database_read, http_get). */
  sideEffecting: Ratio;
  parameters: Ratio;
  forbidden: Ratio;
  ambiguity: { expected: number; raised: number; unexpected: number };
  misses: { prompt: string; kind: string; detail: string }[];
}

const READS = new Set(['file_read', 'database_read']);

/** Whether an action changes something (everything but reads and HTTP GET). */
export function sideEffecting(action: string): boolean {
  return action !== 'http_get' && !READS.has(standardAction(action)?.category ?? '');
}

function ratio(tp: number, fp: number, fn: number): Ratio {
  return { tp, fp, fn, precision: tp + fp === 0 ? 1 : tp / (tp + fp), recall: tp + fn === 0 ? 1 : tp / (tp + fn) };
}

function triples(params: Record<string, JsonObject[]>): string[] {
  const out: string[] = [];
  for (const [action, list] of Object.entries(params)) {
    for (const p of list) for (const [k, v] of Object.entries(p)) out.push(`${action}.${k}=${JSON.stringify(v as JsonValue)}`);
  }
  return out;
}

/** Runs the compiler on every prompt and scores it against the labels. */
export function scoreCorpus(corpus: readonly LabelledPrompt[], options: IntentCompilerOptions = {}): CorpusScore {
  const c: Record<'a' | 's' | 'p' | 'f', [number, number, number]> = { a: [0, 0, 0], s: [0, 0, 0], p: [0, 0, 0], f: [0, 0, 0] };
  const misses: CorpusScore['misses'] = [];
  let raised = 0;
  let unexpected = 0;
  for (const entry of corpus) {
    let predicted: string[] = [];
    let predictedParams: Record<string, JsonObject[]> = {};
    let forbidden: string[] = [];
    try {
      const compiled = compileIntent(entry.prompt, options);
      predicted = [...new Set(compiled.requests.map((r) => r.action))];
      for (const r of compiled.requests) (predictedParams[r.action] ??= []).push(r.parameters);
      forbidden = compiled.negated;
      if (entry.ambiguous) misses.push({ prompt: entry.prompt, kind: 'not_ambiguous', detail: `compiled to ${predicted.join(', ')}` });
    } catch (error) {
      if (!(error instanceof IntentAmbiguityError)) throw error;
      if (entry.ambiguous) raised++;
      else {
        unexpected++;
        misses.push({ prompt: entry.prompt, kind: 'ambiguity', detail: error.message });
      }
      predicted = [];
      predictedParams = {};
    }
    const expected = entry.actions ?? [];
    for (const a of predicted) {
      const hit = expected.includes(a);
      c.a[hit ? 0 : 1]++;
      if (sideEffecting(a)) c.s[hit ? 0 : 1]++;
      if (!hit) misses.push({ prompt: entry.prompt, kind: sideEffecting(a) ? 'false_positive_side_effect' : 'false_positive', detail: a });
    }
    for (const a of expected) {
      if (predicted.includes(a)) continue;
      c.a[2]++;
      if (sideEffecting(a)) c.s[2]++;
      misses.push({ prompt: entry.prompt, kind: 'missed_action', detail: a });
    }
    const want = triples(entry.params ?? {});
    const got = triples(predictedParams);
    for (const t of got) {
      const hit = want.includes(t);
      c.p[hit ? 0 : 1]++;
      if (!hit) misses.push({ prompt: entry.prompt, kind: 'extra_parameter', detail: t });
    }
    for (const t of want) {
      if (got.includes(t)) continue;
      c.p[2]++;
      misses.push({ prompt: entry.prompt, kind: 'missed_parameter', detail: t });
    }
    for (const a of forbidden) c.f[(entry.forbidden ?? []).includes(a) ? 0 : 1]++;
    for (const a of entry.forbidden ?? []) if (!forbidden.includes(a)) {
      c.f[2]++;
      misses.push({ prompt: entry.prompt, kind: 'missed_negation', detail: a });
    }
  }
  const r = (x: [number, number, number]) => ratio(...x);
  return {
    prompts: corpus.length,
    actions: r(c.a),
    sideEffecting: r(c.s),
    parameters: r(c.p),
    forbidden: r(c.f),
    ambiguity: { expected: corpus.filter((e) => e.ambiguous).length, raised, unexpected },
    misses,
  };
}
