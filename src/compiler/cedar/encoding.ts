/**
 * How engine-input facts become typed Cedar context attributes, shared by the schema, the policy
 * emitter and the cedar adapter. A fact of any JSON type is split by type, so a policy never reads
 * an attribute of the wrong type: `<f>_str` (String), `<f>_floor`/`<f>_ceil`/`<f>_khi`/`<f>_klo`
 * (Longs, for numbers), `<f>_bool` (Bool), `<f>_set` (Set<String>, for a list of strings: the
 * places of a `source` fact) and `<f>_present` (for `exists`: set when the fact is
 * present but none of its typed attributes is, so a present fact always sets at least one).
 *
 * Numbers are exact: `floor`/`ceil` are the number rounded down/up, saturated at ±2^53 (enough to
 * compare exactly with any safe-integer constant); `khi`/`klo` are the two 32-bit halves of an
 * order-preserving 64-bit key of the IEEE double (for any other constant). Only the parts some
 * condition reads are sent: the request stays small, and cedar-wasm's cost grows with it.
 */
import type { ConditionIR, JsonValue, PolicyIR } from '../ir.js';
import { isIdent } from './writer.js';

/** The typed encodings a fact can need. */
export interface FactNeeds {
  str: boolean;
  /** `floor` (v >= c and v == c, c a safe integer). */
  floor: boolean;
  /** `ceil` (v <= c and v == c, c a safe integer). */
  ceil: boolean;
  /** `khi`/`klo` (comparison with any other number). */
  key: boolean;
  bool: boolean;
  /** `set` (a list of strings, as a Set<String>). */
  set: boolean;
  present: boolean;
}

/** One fact's Cedar attributes. */
export interface FactAttributes {
  fact: string;
  /** The identifier base of the attributes `<base>_str`, `<base>_floor`... */
  base: string;
  needs: FactNeeds;
  str: string;
  floor: string;
  ceil: string;
  khi: string;
  klo: string;
  bool: string;
  set: string;
  present: string;
}

/** Fact attributes of a whole policy: by fact, and the facts each action's rules read. */
export interface FactLayout {
  byFact: Map<string, FactAttributes>;
  byAction: Map<string, FactAttributes[]>;
}

/** Whether a number constant is compared through `floor`/`ceil` (else through the key). */
export function usesIntEncoding(value: number): boolean {
  return Number.isSafeInteger(value);
}

/** The number parts a comparison with `value` reads. */
function numberNeeds(value: number, operator: '>=' | '<=' | '==', needs: FactNeeds): void {
  if (!usesIntEncoding(value)) needs.key = true;
  else {
    if (operator !== '<=') needs.floor = true;
    if (operator !== '>=') needs.ceil = true;
  }
}

function needsOf(c: ConditionIR, needs: FactNeeds): void {
  const scalar = (v: string | number | boolean) => {
    if (typeof v === 'string') needs.str = true;
    else if (typeof v === 'boolean') needs.bool = true;
    else numberNeeds(v, '==', needs);
  };
  switch (c.op) {
    case 'equals':
      scalar(c.value);
      return;
    case 'one_of':
      c.values.forEach(scalar);
      return;
    case 'min':
    case 'min_length':
      numberNeeds(c.value, '>=', needs);
      return;
    case 'max':
    case 'max_length':
      numberNeeds(c.value, '<=', needs);
      return;
    case 'exists':
      needs.present = true;
      return;
    case 'source':
      needs.set = true;
      return;
    default:
      needs.str = true;
  }
}

function baseName(fact: string, taken: Set<string>): string {
  let base = fact.replace(/[^A-Za-z0-9_]/g, '_');
  if (!/^[A-Za-z]/.test(base)) base = `p_${base}`;
  let candidate = base;
  for (let n = 2; taken.has(candidate) || !isIdent(`${candidate}_str`); n++) candidate = `${base}_${n}`;
  taken.add(candidate);
  return candidate;
}

/** Lays out the Cedar attributes of every fact the policy's rules read. */
export function factLayout(ir: PolicyIR): FactLayout {
  const needsByFact = new Map<string, FactNeeds>();
  for (const rule of ir.rules) {
    for (const c of rule.conditions) {
      const needs = needsByFact.get(c.fact) ?? { str: false, floor: false, ceil: false, key: false, bool: false, set: false, present: false };
      needsOf(c, needs);
      needsByFact.set(c.fact, needs);
    }
  }
  const taken = new Set<string>();
  const byFact = new Map<string, FactAttributes>();
  for (const fact of [...needsByFact.keys()].sort()) {
    const base = baseName(fact, taken);
    byFact.set(fact, {
      fact,
      base,
      needs: needsByFact.get(fact) as FactNeeds,
      str: `${base}_str`,
      floor: `${base}_floor`,
      ceil: `${base}_ceil`,
      khi: `${base}_khi`,
      klo: `${base}_klo`,
      bool: `${base}_bool`,
      set: `${base}_set`,
      present: `${base}_present`,
    });
  }
  const byAction = new Map<string, FactAttributes[]>();
  for (const rule of ir.rules) {
    for (const action of rule.actions) {
      const list = byAction.get(action) ?? [];
      for (const c of rule.conditions) {
        const attrs = byFact.get(c.fact) as FactAttributes;
        if (!list.includes(attrs)) list.push(attrs);
      }
      byAction.set(action, list);
    }
  }
  for (const list of byAction.values()) list.sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
  return { byFact, byAction };
}

const LIMIT = 2 ** 53;

/** `floor` and `ceil` of a number, saturated at ±2^53. */
export function intParts(value: number): { floor: number; ceil: number } {
  const clamp = (n: number) => (n >= LIMIT ? LIMIT : n <= -LIMIT ? -LIMIT : n + 0);
  return { floor: clamp(Math.floor(value)), ceil: clamp(Math.ceil(value)) };
}

const view = new DataView(new ArrayBuffer(8));
const LOW63 = (1n << 63n) - 1n;

/**
 * The order-preserving key of a finite double as two 32-bit halves: `a < b` exactly when
 * `(khi, klo)` of `a` is lexicographically smaller than that of `b` (`-0` and `0` are equal).
 */
export function keyParts(value: number): { khi: number; klo: number } {
  view.setFloat64(0, value + 0);
  let bits = view.getBigInt64(0);
  if (bits < 0n) bits ^= LOW63;
  return { khi: Number(bits >> 32n), klo: Number(bits & 0xffffffffn) };
}

/** The Cedar type of a context attribute (`Set` is a Set<String>). */
export type AttributeType = 'String' | 'Long' | 'Boolean' | 'Set';

/** The typed attributes of a fact, in a fixed order (each optional in the schema). */
export function typedAttributes(attrs: FactAttributes): { name: string; type: AttributeType }[] {
  const { needs } = attrs;
  const out: { name: string; type: AttributeType }[] = [];
  if (needs.str) out.push({ name: attrs.str, type: 'String' });
  if (needs.floor) out.push({ name: attrs.floor, type: 'Long' });
  if (needs.ceil) out.push({ name: attrs.ceil, type: 'Long' });
  if (needs.key) out.push({ name: attrs.khi, type: 'Long' }, { name: attrs.klo, type: 'Long' });
  if (needs.bool) out.push({ name: attrs.bool, type: 'Boolean' });
  if (needs.set) out.push({ name: attrs.set, type: 'Set' });
  if (needs.present) out.push({ name: attrs.present, type: 'Boolean' });
  return out;
}

/** A Cedar context value (the subset of JSON this encoding produces; a list is a Set<String>). */
export type ContextValue = string | boolean | number | string[];

/** Adds the attributes of one fact value to a Cedar context. Absent facts add nothing. */
export function encodeFact(context: Record<string, ContextValue>, attrs: FactAttributes, value: JsonValue | undefined): void {
  if (value === undefined) return;
  const { needs } = attrs;
  let typed = false;
  if (typeof value === 'string') {
    if (needs.str) {
      context[attrs.str] = value;
      typed = true;
    }
  } else if (typeof value === 'number') {
    if (needs.floor || needs.ceil) {
      const { floor, ceil } = intParts(value);
      if (needs.floor) context[attrs.floor] = floor;
      if (needs.ceil) context[attrs.ceil] = ceil;
      typed = true;
    }
    if (needs.key) {
      const { khi, klo } = keyParts(value);
      context[attrs.khi] = khi;
      context[attrs.klo] = klo;
      typed = true;
    }
  } else if (typeof value === 'boolean' && needs.bool) {
    context[attrs.bool] = value;
    typed = true;
  } else if (Array.isArray(value) && needs.set && value.every((x) => typeof x === 'string')) {
    context[attrs.set] = [...(value as string[])];
    typed = true;
  }
  if (needs.present && !typed) context[attrs.present] = true;
}
