/** Helpers shared by CLI commands: loading policies, parsing JSON options, exit codes. */
import { compilePolicyFile, type CompiledPolicy } from '../compiler/compile.js';
import type { Decision, JsonObject } from '../compiler/ir.js';
import { ApeError } from '../errors.js';

/** A CLI usage error: printed as one line, exit 1. */
export class CliUsageError extends ApeError {
  constructor(message: string) {
    super('APE_CLI_USAGE', message);
  }
}

/** Exit codes of `ape eval`: 0 allow, 2 deny, 3 escalate (1 is an error). */
export const DECISION_EXIT: Record<Decision, number> = { allow: 0, deny: 2, escalate: 3 };

/** Compiles a policy file for a command (typed errors propagate to the one-line handler). */
export function loadPolicy(file: string): CompiledPolicy {
  return compilePolicyFile(file);
}

/** Parses a JSON object given on the command line. */
export function parseJsonObject(text: string, option: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CliUsageError(`${option} is not valid JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CliUsageError(`${option} must be a JSON object`);
  }
  return value as JsonObject;
}

/**
 * Applies `-p key=value` pairs: dotted keys nest, values are JSON when they parse as JSON
 * (`-p size=10` is a number, `-p path=/tmp/x` a string); quote to force a string: `-p 'id="10"'`.
 */
export function applyParamPairs(params: JsonObject, pairs: readonly string[]): JsonObject {
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliUsageError(`-p expects key=value, got '${pair}'`);
    const key = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    let value: JsonObject[string];
    try {
      value = JSON.parse(raw) as JsonObject[string];
    } catch {
      value = raw;
    }
    const segments = key.split('.');
    if (segments.some((s) => s === '' || s === '__proto__' || s === 'constructor' || s === 'prototype')) {
      throw new CliUsageError(`-p key '${key}' is not a parameter path`);
    }
    let node: JsonObject = params;
    for (const segment of segments.slice(0, -1)) {
      const next = node[segment];
      if (!Object.hasOwn(node, segment) || next === null || typeof next !== 'object' || Array.isArray(next)) node[segment] = {};
      node = node[segment] as JsonObject;
    }
    node[segments[segments.length - 1] as string] = value;
  }
  return params;
}

/** Collects a repeatable option's values. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
