/**
 * The in-process solver: one Z3 (WASM) context per process, SMT-LIB text in, sat/unsat/unknown and
 * the model's values out. Every query has a timeout; queries run one at a time.
 */
import { init } from 'z3-solver';

/** A fact value read back from a model. */
export type ModelValue =
  | { kind: 'absent' }
  | { kind: 'str'; value: string }
  | { kind: 'num'; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'other' }
  | { kind: 'decision'; value: 'allow' | 'deny' | 'escalate' }
  | { kind: 'truth'; value: boolean }
  | { kind: 'string'; value: string };

/** The outcome of one query. */
export type QueryResult =
  | { status: 'sat'; model: Map<string, { value: ModelValue; term: string }> }
  | { status: 'unsat' }
  | { status: 'unknown'; reason: string };

import type { Context } from 'z3-solver';

type Z3Context = Context<'ape'>;

let context: Promise<Z3Context> | undefined;
let queue: Promise<unknown> = Promise.resolve();

/** The shared Z3 context (initialized on first use; the WASM start-up is paid once per process). */
export function z3Context(): Promise<Z3Context> {
  context ??= init().then((z3) => z3.Context('ape'));
  return context;
}

/** Default time limit of one query, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Checks the satisfiability of SMT-LIB text (declarations and assertions, no `check-sat`).
 * A timeout, a resource limit or a solver error is `unknown`, never `unsat`.
 */
export function checkSmt(text: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<QueryResult> {
  const run = queue.then(() => runQuery(text, timeoutMs));
  queue = run.catch(() => undefined);
  return run;
}

async function runQuery(text: string, timeoutMs: number): Promise<QueryResult> {
  const ctx = await z3Context();
  const solver = new ctx.Solver();
  try {
    solver.set('timeout', Math.max(1, Math.floor(timeoutMs)));
    solver.fromString(text);
    const status = await solver.check();
    if (status === 'unsat') return { status: 'unsat' };
    if (status === 'unknown') return { status: 'unknown', reason: solver.reasonUnknown() || 'the solver gave up' };
    const model = solver.model();
    const values = new Map<string, { value: ModelValue; term: string }>();
    for (const decl of model.decls()) {
      if (decl.arity() !== 0) continue;
      const entry = model.get(decl);
      if (!('sexpr' in entry)) continue;
      const term = entry.sexpr();
      const value = parseValue(term);
      if (value) values.set(String(decl.name()), { value, term });
    }
    return { status: 'sat', model: values };
  } catch (error) {
    return { status: 'unknown', reason: `solver error: ${error instanceof Error ? error.message : String(error)}` };
  } finally {
    solver.release?.();
  }
}

type SExpr = string | SExpr[];

function tokenize(text: string): SExpr | undefined {
  let pos = 0;
  const read = (): SExpr | undefined => {
    while (pos < text.length && /\s/.test(text[pos] as string)) pos++;
    const c = text[pos];
    if (c === undefined) return undefined;
    if (c === '(') {
      pos++;
      const list: SExpr[] = [];
      for (;;) {
        while (pos < text.length && /\s/.test(text[pos] as string)) pos++;
        if (text[pos] === ')') {
          pos++;
          return list;
        }
        const item = read();
        if (item === undefined) return undefined;
        list.push(item);
      }
    }
    if (c === '"') {
      let out = '"';
      pos++;
      for (;;) {
        const ch = text[pos];
        if (ch === undefined) return undefined;
        pos++;
        if (ch === '"') {
          if (text[pos] === '"') {
            out += '""';
            pos++;
            continue;
          }
          return `${out}"`;
        }
        out += ch;
      }
    }
    const m = /^[^\s()]+/.exec(text.slice(pos));
    if (!m) return undefined;
    pos += m[0].length;
    return m[0];
  };
  return read();
}

/** Decodes an SMT-LIB string literal as Z3 prints it (`""` and `\u{hex}` escapes). */
export function decodeString(literal: string): string {
  return literal
    .slice(1, -1)
    .replace(/""/g, '"')
    .replace(/\\u\{([0-9a-fA-F]{1,5})\}|\\u([0-9a-fA-F]{4})/g, (_, a: string | undefined, b: string | undefined) => String.fromCodePoint(parseInt((a ?? b) as string, 16)));
}

function real(e: SExpr): number | undefined {
  if (typeof e === 'string') return /^\d+(\.\d+)?$/.test(e) ? Number(e) : undefined;
  const [head, a, b] = e;
  if (head === '-' && a !== undefined && b === undefined) {
    const v = real(a);
    return v === undefined ? undefined : -v;
  }
  if (head === '/' && a !== undefined && b !== undefined) {
    const x = real(a);
    const y = real(b);
    return x === undefined || y === undefined ? undefined : x / y;
  }
  return undefined;
}

function parseValue(term: string): ModelValue | undefined {
  const e = tokenize(term);
  if (e === undefined) return undefined;
  if (typeof e === 'string') {
    if (e === 'absent' || e === 'other') return { kind: e };
    if (e === 'allow' || e === 'deny' || e === 'escalate') return { kind: 'decision', value: e };
    if (e === 'true' || e === 'false') return { kind: 'truth', value: e === 'true' };
    if (e.startsWith('"')) return { kind: 'string', value: decodeString(e) };
    return undefined;
  }
  const [head, arg] = e;
  if (arg === undefined) return undefined;
  if (head === 'str' && typeof arg === 'string' && arg.startsWith('"')) return { kind: 'str', value: decodeString(arg) };
  if (head === 'num') {
    const v = real(arg);
    return v === undefined || !Number.isFinite(v) ? undefined : { kind: 'num', value: v };
  }
  if (head === 'bool' && (arg === 'true' || arg === 'false')) return { kind: 'bool', value: arg === 'true' };
  return undefined;
}
