import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/compiler/diagnostics.js';
import { MAX_POLICY_BYTES } from '../../src/compiler/source.js';
import { diagnosticsOf } from '../helpers.js';

const codes = (text: string) => diagnosticsOf(text).map((d) => `${d.line}:${d.column} ${d.code}`);

describe('diagnostics carry a stable code, file, line and column', () => {
  it('a misspelled operator is an error at its key, with a suggestion', () => {
    const ds = diagnosticsOf('name: p\nrules:\n  - action: read_file\n    decision: allow\n    conditions:\n      path: { prefx: /tmp/ }\n', 'p.yaml');
    expect(ds).toHaveLength(1);
    const [d] = ds;
    expect(d).toMatchObject({ code: 'unknown-operator', severity: 'error', file: 'p.yaml', line: 6, column: 15, hint: "did you mean 'prefix'?" });
    expect(formatDiagnostic(d!)).toMatch(/^p\.yaml:6:15 unknown-operator unknown operator 'prefx'/);
  });

  it('reports every error at once', () => {
    const text = 'name: p\ndefault_decision: alow\nrulez: []\nrules:\n  - action: 5\n    decision: permit\n';
    expect(codes(text)).toEqual(['2:19 invalid-value', '3:1 unknown-key', '5:13 wrong-type', '6:15 invalid-value']);
  });

  it('an unknown key suggests the right one', () => {
    const [d] = diagnosticsOf('name: p\nforbiden_actions: [rm_rf]\n');
    expect(d).toMatchObject({ code: 'unknown-key', line: 2, column: 1, hint: "did you mean 'forbidden_actions'?" });
  });

  it('a missing required key names it', () => {
    const [d] = diagnosticsOf('name: p\nrules:\n  - action: read_file\n');
    expect(d).toMatchObject({ code: 'missing-key', line: 3, column: 5 });
    expect(d!.message).toContain("'decision'");
  });

  it('invalid regex, invalid CIDR and relative path prefixes are errors', () => {
    const text = `name: p
actions:
  - id: c
    parameters: { type: object, properties: { ip: { type: string, format: ip } } }
rules:
  - action: read_file
    decision: allow
    conditions:
      path: { prefix: tmp/ }
  - action: search_files
    decision: allow
    conditions:
      pattern: { regex: "(?<=a)b" }
  - action: c
    decision: allow
    conditions:
      ip: { cidr: [10.0.0.0/33] }
`;
    expect(codes(text)).toEqual(['9:23 invalid-operand', '13:25 invalid-regex', '17:19 invalid-cidr']);
  });

  it('default_decision and default_deny may not contradict each other', () => {
    expect(codes('name: p\ndefault_decision: deny\ndefault_deny: false\n')).toContain('3:15 conflicting-default');
  });

  it('duplicate rule ids and duplicate actions are errors', () => {
    const text = 'name: p\nactions:\n  - id: x\n  - id: x\n  - id: read_file\nrules:\n  - {id: a, action: x, decision: allow}\n  - {id: a, action: x, decision: deny}\n';
    expect(codes(text)).toEqual(['4:9 duplicate-action', '5:9 duplicate-action', '8:10 duplicate-rule-id']);
  });

  it('a policy name that is not an identifier is rejected (it becomes a Rego package and a Cedar namespace)', () => {
    expect(codes('name: my-policy\n')).toEqual(['1:7 invalid-value']);
  });
});

describe('lints are warnings with positions', () => {
  it('default allow, prefix without slash, never-matching rule, shadowed rule, unknown action and parameter', () => {
    const text = `name: p
default_decision: allow
rules:
  - action: read_file
    decision: allow
    conditions:
      path: { prefix: /tmp }
  - action: write_file
    decision: allow
    conditions:
      size: { min: 10, max: 5 }
  - action: delete_file
    decision: deny
  - action: delete_file
    decision: escalate
  - action: frobnicate
    decision: deny
  - action: read_file
    decision: allow
    conditions:
      pth: { prefix: /tmp/ }
`;
    const ds = diagnosticsOf(text);
    expect(ds.every((d) => d.severity === 'warning')).toBe(true);
    expect(ds.map((d) => `${d.line}:${d.column} ${d.code}`)).toEqual([
      '2:19 default-allow',
      '7:23 prefix-without-slash',
      '8:5 rule-never-matches',
      '14:5 rule-shadowed',
      '16:13 unknown-action',
      '21:7 unknown-parameter',
    ]);
  });

  it('a deny condition on an optional parameter warns that it fires when the parameter is missing', () => {
    const text = 'name: p\nrules:\n  - action: write_file\n    decision: deny\n    conditions:\n      size: { min: 10 }\n';
    expect(codes(text)).toEqual(['6:7 fires-when-missing']);
    expect(codes(text.replace('{ min: 10 }', '{ min: 10, exists: true }'))).toEqual([]);
  });

  it('a rule on an action named user or system warns: those are the reserved places of source', () => {
    const text = 'name: p\nactions:\n  - { id: user }\nrules:\n  - { action: [read_file, user], decision: allow }\n  - { action: system, decision: deny }\n';
    expect(codes(text)).toEqual(['5:27 reserved-place-name', '6:15 unknown-action', '6:15 reserved-place-name']);
  });
});

describe('YAML safety', () => {
  it('duplicate keys are an error', () => {
    expect(codes('name: p\nname: q\n')).toEqual(['2:1 yaml-duplicate-key']);
  });
  it('non-string keys are an error', () => {
    expect(codes('name: p\nrules:\n  - action: a\n    decision: allow\n    conditions:\n      1: { equals: 1 }\n')).toEqual(['6:7 yaml-non-string-key']);
  });
  it('an alias bomb is stopped', () => {
    const lines = ['name: p', 'metadata:', '  a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++) lines.push(`  a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    expect(codes(lines.join('\n'))).toEqual(['1:1 yaml-alias-limit']);
  });
  it('a huge file is refused before parsing', () => {
    expect(codes(`name: p\nmetadata: {x: "${'a'.repeat(MAX_POLICY_BYTES)}"}\n`)).toEqual(['1:1 file-too-large']);
  });
  it('syntax errors and custom tags are errors', () => {
    expect(codes('name: [p\n')[0]).toMatch(/yaml-syntax/);
    expect(codes('name: !!js/function p\n')[0]).toMatch(/yaml-tag/);
  });
  it('an empty or non-mapping document is an error, not a crash', () => {
    expect(codes('')[0]).toMatch(/wrong-type/);
    expect(codes('- a\n- b\n')[0]).toMatch(/wrong-type/);
  });
});
