/** Provenance labels on values: tool output is untrusted by default, labels follow values, untrusted data grants no authority. */
import type { JsonValue, ProvenanceLabel } from '../compiler/ir.js';
import { PROVENANCE_LABELS } from '../compiler/ir.js';
import { ProvenanceError } from './errors.js';

export type { ProvenanceLabel };

const TRUST: Record<ProvenanceLabel, number> = { system: 3, user: 2, model: 1, external: 0 };

/** A value with the label of where it came from. Immutable. */
export class Labeled<T = unknown> {
  readonly value: T;
  readonly label: ProvenanceLabel;
  /** Brand of wrappers made by the constructor (`Object.create(Labeled.prototype)` with getters has none). */
  readonly #genuine = true;
  constructor(value: T, label: ProvenanceLabel) {
    if (!(PROVENANCE_LABELS as readonly string[]).includes(label)) throw new ProvenanceError('label', '', String(label));
    this.value = value;
    this.label = label;
    Object.freeze(this);
  }

  /** Whether a value is a wrapper the constructor made (a private-field check: no getter or proxy trap runs). */
  static isGenuine(value: unknown): value is Labeled<unknown> {
    return typeof value === 'object' && value !== null && #genuine in value;
  }

  /** A value derived from this one: it keeps the label (the lowest of all inputs when several are combined). */
  map<U>(fn: (value: T) => U): Labeled<U> {
    return new Labeled(fn(this.value), this.label);
  }
}

/** Whether a value is a wrapper made by the `Labeled` constructor (frozen, own data properties). */
export function isGenuineLabeled(value: unknown): value is Labeled<unknown> {
  return Labeled.isGenuine(value);
}

/** Labels a value. */
export function label<T>(value: T, provenance: ProvenanceLabel): Labeled<T> {
  return new Labeled(value, provenance);
}

/** The least trusted of several labels. */
export function lowest(...labels: ProvenanceLabel[]): ProvenanceLabel {
  let out: ProvenanceLabel = 'system';
  for (const l of labels) if (TRUST[l] < TRUST[out]) out = l;
  return out;
}

/** Combines labeled values into one value labeled with the least trusted input label. */
export function combine<T>(inputs: readonly Labeled[], fn: (...values: unknown[]) => T): Labeled<T> {
  return new Labeled(fn(...inputs.map((i) => i.value)), lowest(...inputs.map((i) => i.label)));
}

/** Whether a label can grant authority (intent, plan, approvals). */
export function isTrusted(l: ProvenanceLabel): boolean {
  return l === 'system' || l === 'user';
}

/** A plain JSON value with the provenance label of each parameter path (dotted; containers get their lowest leaf). */
export interface Unwrapped {
  value: JsonValue;
  labels: Record<string, ProvenanceLabel>;
}

/**
 * Strips `Labeled` wrappers from a value, recording a label per dotted path. A wrapper labels its
 * whole subtree (nested wrappers can only lower it); unlabeled leaves outside any wrapper get
 * `fallback`. A container's label is the lowest label inside it.
 */
export function unwrap(input: unknown, fallback: ProvenanceLabel): Unwrapped & { label: ProvenanceLabel } {
  const { value, labels, label } = unwrapExplicit(input, fallback);
  return { value, labels, label };
}

/**
 * `unwrap`, also telling which paths lie under a wrapper (their label is the caller's explicit
 * statement; the others got `fallback` or, for containers, the lowest of their leaves).
 * @internal
 */
export function unwrapExplicit(input: unknown, fallback: ProvenanceLabel): Unwrapped & { label: ProvenanceLabel; explicit: Set<string> } {
  const explicit = new Set<string>();
  const labels: Record<string, ProvenanceLabel> = {};
  const walk = (node: unknown, inherited: ProvenanceLabel | undefined, path: string): { value: JsonValue; label: ProvenanceLabel } => {
    let current = inherited;
    let value = node;
    while (value instanceof Labeled) {
      current = current === undefined ? value.label : lowest(current, value.label);
      value = value.value;
    }
    let result: JsonValue;
    let label: ProvenanceLabel = current ?? fallback;
    if (Array.isArray(value)) {
      if (value.length > 0) label = 'system';
      result = value.map((item, i) => {
        const child = walk(item, current, path ? `${path}.${i}` : String(i));
        label = lowest(label, child.label);
        return child.value;
      });
      if (value.length === 0) label = current ?? fallback;
    } else if (value !== null && typeof value === 'object') {
      const out: Record<string, JsonValue> = {};
      const keys = Object.keys(value);
      if (keys.length > 0) label = current ?? 'system';
      for (const key of keys) {
        const child = walk((value as Record<string, unknown>)[key], current, path ? `${path}.${key}` : key);
        label = lowest(label, child.label);
        out[key] = child.value;
      }
      result = out;
    } else {
      result = value as JsonValue;
    }
    if (path) {
      labels[path] = label;
      if (current !== undefined) explicit.add(path);
    }
    return { value: result, label };
  };
  const root = walk(input, undefined, '');
  return { value: root.value, labels, label: root.label, explicit };
}

/**
 * The labels `unwrap(value, label)` gives a value without wrappers (every path labeled `label`, in
 * the same order), without copying the value; undefined when a wrapper is found (then use `unwrap`).
 * @internal
 */
export function uniformLabels(value: JsonValue, label: ProvenanceLabel): Record<string, ProvenanceLabel> | undefined {
  const labels: Record<string, ProvenanceLabel> = {};
  const walk = (node: unknown, path: string): boolean => {
    if (node instanceof Labeled) return false;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) if (!walk(node[i], path ? `${path}.${i}` : String(i))) return false;
    } else if (node !== null && typeof node === 'object') {
      for (const key of Object.keys(node)) if (!walk((node as Record<string, unknown>)[key], path ? `${path}.${key}` : key)) return false;
    }
    if (path) labels[path] = label;
    return true;
  };
  return walk(value, '') ? labels : undefined;
}

/** Throws `ProvenanceError` unless every part of `input` is trusted; returns the plain value. */
export function requireTrusted(where: string, input: unknown, fallback: ProvenanceLabel): JsonValue {
  const { value, labels, label: top } = unwrap(input, fallback);
  for (const [path, l] of Object.entries(labels)) if (!isTrusted(l)) throw new ProvenanceError(where, path, l);
  if (!isTrusted(top)) throw new ProvenanceError(where, '', top);
  return value;
}
