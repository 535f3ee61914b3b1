/** One typed union of error codes: every error APE throws carries a listed code, and `isApeError` tells them apart. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from './helpers.js';
import { APE_ERROR_CODES, ApeError, isApeError, ParameterValidationError } from '../src/errors.js';
import { NativeEvaluator } from '../src/evaluator.js';
import { PolicyDenyError } from '../src/runtime/index.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('error codes', () => {
  it('are listed once each, and every APE_ code literal in src/ is listed (environment variables and the non-APE envelope code aside)', () => {
    expect(new Set(APE_ERROR_CODES).size).toBe(APE_ERROR_CODES.length);
    const used = new Set<string>();
    for (const file of sources(new URL('../src/', import.meta.url).pathname)) {
      for (const m of readFileSync(file, 'utf8').matchAll(/(env\[)?'(APE_[A-Z_]+)'/g)) if (m[1] === undefined) used.add(m[2] as string);
    }
    // What the CLI and the gate report for an error that is not an ApeError (a bug, a tool's own error).
    used.delete('APE_INTERNAL');
    expect(used.size).toBeGreaterThan(30);
    expect([...used].filter((c) => !(APE_ERROR_CODES as readonly string[]).includes(c))).toEqual([]);
  });

  it('isApeError narrows by code, and refuses look-alikes', () => {
    const evaluator = new NativeEvaluator(compile('name: p\nrules:\n  - {action: write_file, decision: allow}\n'));
    let caught: unknown;
    try {
      evaluator.decideSync({ action: 'write_file', params: { path: '/a', content: 1 } });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ParameterValidationError);
    expect(isApeError(caught)).toBe(true);
    expect(isApeError(caught, 'APE_PARAMS_INVALID')).toBe(true);
    expect(isApeError(caught, 'APE_POLICY_INVALID')).toBe(false);
    expect(isApeError(new PolicyDenyError('delete_file', 'no', ['r']), 'APE_POLICY_DENY')).toBe(true);
    // Same shape, not an APE error: never taken for one.
    expect(isApeError(Object.assign(new Error('x'), { code: 'APE_PARAMS_INVALID', name: 'ParameterValidationError' }), 'APE_PARAMS_INVALID')).toBe(false);
    expect(isApeError({ code: 'APE_PARAMS_INVALID' })).toBe(false);
    expect(new ApeError('APE_CLI_USAGE', 'm').code).toBe('APE_CLI_USAGE');
  });
});
