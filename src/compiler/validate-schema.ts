/** Validates parsed policy data against the policy JSON Schema and maps ajv errors to positioned diagnostics. */
import { Ajv, type ErrorObject } from 'ajv';
import { closest, diagnostic, type Diagnostic } from './diagnostics.js';
import { OPERATOR_NAMES } from './operators.js';
import {
  ACTION_ID_PATTERN,
  CONDITION_PATH_PATTERN,
  POLICY_NAME_PATTERN,
  POLICY_SCHEMA,
  RULE_ID_PATTERN,
} from './policy-schema.js';
import type { SourceDocument } from './source.js';

const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true });
const validatePolicy = ajv.compile(POLICY_SCHEMA);

const PATTERN_NAMES: Record<string, string> = {
  [POLICY_NAME_PATTERN]: 'policy name (letters, digits and _; not starting with a digit)',
  [ACTION_ID_PATTERN]: 'action id (letters, digits, _ . : / -; starting with a letter or _)',
  [RULE_ID_PATTERN]: 'rule id (letters, digits, _ . : -)',
  [CONDITION_PATH_PATTERN]: 'parameter path (names joined by dots)',
};

/** Schema-checks a policy document; returns every violation as a diagnostic. */
export function validateAgainstSchema(document: SourceDocument): Diagnostic[] {
  if (validatePolicy(document.data)) return [];
  const errors = pruneBranchErrors(validatePolicy.errors ?? []);
  return errors.map((error) => toDiagnostic(error, document));
}

function pointerToPath(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** Keeps one error per failed `anyOf` instead of one per branch. */
function pruneBranchErrors(errors: ErrorObject[]): ErrorObject[] {
  const anyOfPaths = errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath);
  const covered = (e: ErrorObject) =>
    e.keyword !== 'anyOf' && anyOfPaths.some((p) => e.instancePath === p || e.instancePath.startsWith(`${p}/`));
  const kept = errors.filter((e) => !covered(e));
  const seen = new Set<string>();
  return kept.filter((e) => {
    const key = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function isOperatorObject(path: (string | number)[]): boolean {
  return path.length === 4 && path[0] === 'rules' && path[2] === 'conditions';
}

function toDiagnostic(error: ErrorObject, document: SourceDocument): Diagnostic {
  const path = pointerToPath(error.instancePath);
  const where = (p: (string | number)[], key = false) => {
    const { line, column } = key ? document.locateKey(p) : document.locate(p);
    return { file: document.file, line, column, path: p };
  };
  const at = path.length > 0 ? `at ${path.join('.')}` : 'at the top level';
  switch (error.keyword) {
    case 'additionalProperties': {
      const name = String((error.params as { additionalProperty: string }).additionalProperty);
      const keyPath = [...path, name];
      if (isOperatorObject(path)) {
        const suggestion = closest(name, OPERATOR_NAMES);
        return diagnostic(
          'unknown-operator',
          `unknown operator '${name}' in condition on '${String(path[3])}'; expected one of ${OPERATOR_NAMES.join(', ')}`,
          where(keyPath, true),
          suggestion ? `did you mean '${suggestion}'?` : undefined,
        );
      }
      const allowed = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      const suggestion = closest(name, allowed);
      return diagnostic(
        'unknown-key',
        `unknown key '${name}' ${at}; expected one of ${allowed.join(', ')}`,
        where(keyPath, true),
        suggestion ? `did you mean '${suggestion}'?` : undefined,
      );
    }
    case 'required': {
      const missing = String((error.params as { missingProperty: string }).missingProperty);
      return diagnostic('missing-key', `missing required key '${missing}' ${at}`, where(path));
    }
    case 'type': {
      const expected = String((error.params as { type: string | string[] }).type).replace(/,/g, ' or ');
      return diagnostic('wrong-type', `expected ${expected} ${at}, got ${typeName(error.data)}`, where(path));
    }
    case 'anyOf':
      return diagnostic('wrong-type', `expected a string or a non-empty list of strings ${at}, got ${typeName(error.data)}`, where(path));
    case 'enum': {
      const allowed = (error.params as { allowedValues: unknown[] }).allowedValues.map(String);
      const suggestion = typeof error.data === 'string' ? closest(error.data, allowed) : undefined;
      return diagnostic(
        'invalid-value',
        `expected one of ${allowed.join(', ')} ${at}, got ${typeName(error.data)}`,
        where(path),
        suggestion ? `did you mean '${suggestion}'?` : undefined,
      );
    }
    case 'pattern': {
      const pattern = String((error.params as { pattern: string }).pattern);
      return diagnostic(
        'invalid-value',
        `${JSON.stringify(error.data)} ${at} is not a valid ${PATTERN_NAMES[pattern] ?? `value (pattern ${pattern})`}`,
        where(path),
      );
    }
    case 'propertyNames': {
      const name = String((error.params as { propertyName: string }).propertyName);
      return diagnostic(
        'invalid-value',
        `'${name}' ${at} is not a valid ${PATTERN_NAMES[CONDITION_PATH_PATTERN]}`,
        where([...path, name], true),
      );
    }
    default:
      return diagnostic('invalid-value', `${error.message ?? 'invalid value'} ${at}`, where(path));
  }
}
