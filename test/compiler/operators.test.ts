import { describe, expect, it } from 'vitest';
import { compilePolicySource } from '../../src/compiler/compile.js';
import { RequestPreparer } from '../../src/compiler/engine-input.js';
import { RequestError } from '../../src/errors.js';
import { decide, oneRule } from '../helpers.js';

type Case = [conditions: string, value: unknown, holds: boolean, schema?: string];

/** For each operator: values that satisfy it, values that don't, and values of the wrong type. */
const CASES: Record<string, { cases: Case[]; wrongType: unknown[] }> = {
  prefix: { cases: [['{ prefix: [/tmp/, /srv/] }', '/srv/x', true], ['{ prefix: /tmp/ }', '/tmpx', false], ['{ prefix: "ab" }', 'abc', true]], wrongType: [1, true, ['/tmp/x'], null] },
  suffix: { cases: [['{ suffix: [.md, .txt] }', 'a.txt', true], ['{ suffix: .md }', 'a.mdx', false]], wrongType: [5, {}] },
  allowlist: { cases: [['{ allowlist: ["*.example.com"] }', 'a.example.com', true], ['{ allowlist: ["*.example.com"] }', 'example.com', false], ['{ allowlist: ["a*c"] }', 'a/b/c', true], ['{ allowlist: ["a.c"] }', 'abc', false]], wrongType: [1, false] },
  denylist: { cases: [['{ denylist: ["*.exe", "rm *"] }', 'ok.txt', true], ['{ denylist: ["*.exe"] }', 'x.exe', false]], wrongType: [1] },
  equals: { cases: [['{ equals: 1 }', 1, true], ['{ equals: 1 }', 2, false], ['{ equals: "1" }', '1', true], ['{ equals: true }', true, true], ['{ equals: true }', false, false]], wrongType: ['1', [1], null] },
  one_of: { cases: [['{ one_of: [a, 2, false] }', 2, true], ['{ one_of: [a, 2, false] }', 'a', true], ['{ one_of: [a, 2] }', 'b', false]], wrongType: [null, ['a'], {}] },
  min: { cases: [['{ min: 10 }', 10, true], ['{ min: 10 }', 9.99, false], ['{ min: -1 }', 0, true]], wrongType: ['10', '100', 'nan', true, null] },
  max: { cases: [['{ max: 10 }', 10, true], ['{ max: 10 }', 10.01, false]], wrongType: ['5', 'nan', '-1'] },
  regex: { cases: [['{ regex: "^a+b$" }', 'aab', true], ['{ regex: "b" }', 'abc', true], ['{ regex: "^b" }', 'abc', false]], wrongType: [1, ['aab']] },
  min_length: { cases: [['{ min_length: 2 }', 'ab', true], ['{ min_length: 2 }', 'a', false], ['{ min_length: 2 }', [1, 2], true], ['{ min_length: 2 }', '🙂', false]], wrongType: [12, true] },
  max_length: { cases: [['{ max_length: 2 }', '🙂🙂', true], ['{ max_length: 2 }', 'abc', false], ['{ max_length: 1 }', [1, 2], false]], wrongType: [1] },
  cidr: { cases: [['{ cidr: [10.0.0.0/8] }', '10.2.3.4', true], ['{ cidr: [10.0.0.0/8] }', '11.2.3.4', false], ['{ cidr: ["::1/128"] }', '::1', true], ['{ cidr: [10.0.0.0/8] }', '::ffff:10.0.0.1', true]], wrongType: [10, 'not-an-ip'] },
};

describe('every operator: holds, fails, and fails closed on wrong types', () => {
  for (const [op, { cases, wrongType }] of Object.entries(CASES)) {
    describe(op, () => {
      const schema = op === 'cidr' ? '{ format: ip }' : '{}';
      for (const [conditions, value, holds] of cases) {
        it(`${conditions} on ${JSON.stringify(value)} ${holds ? 'holds' : 'fails'}`, () => {
          const allow = decide(oneRule('allow', conditions, schema), { action: 'act', params: { v: value } });
          expect(allow.decision).toBe(holds ? 'allow' : 'deny');
          const deny = decide(oneRule('deny', conditions, schema, 'allow'), { action: 'act', params: { v: value } });
          expect(deny.decision).toBe(holds ? 'deny' : 'allow');
        });
      }
      for (const value of [...wrongType, undefined]) {
        it(`a ${value === undefined ? 'missing' : `wrongly typed (${JSON.stringify(value)})`} value fails an allow rule and holds in deny/escalate rules`, () => {
          const conditions = (cases[0] as Case)[0];
          const params = value === undefined ? {} : { v: value };
          expect(decide(oneRule('allow', conditions, schema), { action: 'act', params }).decision).toBe('deny');
          expect(decide(oneRule('deny', conditions, schema, 'allow'), { action: 'act', params }).decision).toBe('deny');
          expect(decide(oneRule('escalate', conditions, schema, 'allow'), { action: 'act', params }).decision).toBe('escalate');
        });
      }
    });
  }

  describe('exists', () => {
    it('tests presence in allow and deny rules alike', () => {
      expect(decide(oneRule('allow', '{ exists: true }'), { action: 'act', params: { v: 0 } }).decision).toBe('allow');
      expect(decide(oneRule('allow', '{ exists: true }'), { action: 'act', params: {} }).decision).toBe('deny');
      expect(decide(oneRule('deny', '{ exists: true }', '{}', 'allow'), { action: 'act', params: {} }).decision).toBe('allow');
      expect(decide(oneRule('deny', '{ exists: false }', '{}', 'allow'), { action: 'act', params: {} }).decision).toBe('deny');
    });
  });

  describe('provenance', () => {
    const policy = oneRule('allow', '{ provenance: [user, system] }');
    it('holds for a listed label and fails for external or unlabelled values', () => {
      expect(decide(policy, { action: 'act', params: { v: 'x' }, provenance: { v: 'user' } }).decision).toBe('allow');
      expect(decide(policy, { action: 'act', params: { v: 'x' }, provenance: { v: 'external' } }).decision).toBe('deny');
      expect(decide(policy, { action: 'act', params: { v: 'x' } }).decision).toBe('deny');
    });
    it('knows the model label: listed, it holds; unlisted, it fails like any other label', () => {
      const model = oneRule('allow', '{ provenance: [user, model] }');
      expect(decide(model, { action: 'act', params: { v: 'x' }, provenance: { v: 'model' } }).decision).toBe('allow');
      expect(decide(model, { action: 'act', params: { v: 'x' }, provenance: { v: 'external' } }).decision).toBe('deny');
      const result = decide(policy, { action: 'act', params: { v: 'x' }, provenance: { v: 'model' } });
      expect(result.decision).toBe('deny');
      expect(result.reasons).toEqual(["rule 'r': v comes from 'model', not from 'user', 'system'"]);
      expect(() => compilePolicySource(oneRule('allow', '{ provenance: [trusted] }'), 't.yaml')).toThrow(/provenance/);
    });
  });

  describe('source', () => {
    const allow = oneRule('allow', '{ source: [user, get_contacts] }');
    const deny = oneRule('deny', '{ source: read_file }', '{}', 'allow');
    const ask = (policy: string, sources?: unknown) => decide(policy, { action: 'act', params: { v: 'bob' }, ...(sources === undefined ? {} : { sources: sources as Record<string, string[]> }) });
    it('holds when the value was found in at least one of the places', () => {
      expect(ask(allow, { v: ['user'] }).decision).toBe('allow');
      expect(ask(allow, { v: ['read_file', 'get_contacts'] }).decision).toBe('allow');
      expect(ask(deny, { v: ['user', 'read_file'] }).decision).toBe('deny');
    });
    it('fails when it was found elsewhere or nowhere, and says where it was found', () => {
      expect(ask(allow, { v: ['read_file'] }).reasons).toEqual(["rule 'r': v was found in read_file, not in any of user, get_contacts"]);
      expect(ask(allow, { v: ['search', 'system'] }).reasons).toEqual(["rule 'r': v was found in search, system, not in any of user, get_contacts"]);
      expect(ask(allow, { v: [] }).reasons).toEqual(["rule 'r': v was found nowhere, not in any of user, get_contacts"]);
      expect(ask(allow, { v: ['User', 'user '] }).decision).toBe('deny');
      expect(ask(deny, { v: ['user'] }).decision).toBe('allow');
      expect(ask(deny, { v: [] }).decision).toBe('allow');
    });
    it('fails closed without a list of places for the path: an allow condition fails, a deny condition holds', () => {
      for (const sources of [undefined, {}, { w: ['user'] }, { 'v.x': ['user'] }]) {
        expect(ask(allow, sources).decision).toBe('deny');
        expect(ask(allow, sources).reasons).toEqual(["rule 'r': v is missing, invalid or not a list of places"]);
        expect(ask(deny, sources).decision).toBe('deny');
        expect(decide(oneRule('escalate', '{ source: read_file }', '{}', 'allow'), { action: 'act', params: { v: 1 }, ...(sources ? { sources } : {}) }).decision).toBe('escalate');
      }
    });
    it('reads sources by path, whether or not the parameter is present', () => {
      expect(decide(allow, { action: 'act', params: {}, sources: { v: ['user'] } }).decision).toBe('allow');
    });
    it('a malformed request.sources is a RequestError, whatever the policy reads', () => {
      const preparer = new RequestPreparer(compilePolicySource(allow, 't.yaml').ir);
      for (const sources of [null, 'user', ['user'], { v: 'user' }, { v: [1] }, { v: ['user', null] }, { v: [['user']] }, { v: { 0: 'user' } }, { v: ['\ud800'] }, new Map()]) {
        expect(() => preparer.prepare({ action: 'act', params: {}, sources: sources as never })).toThrow(RequestError);
        expect(() => preparer.prepare({ action: 'other', params: {}, sources: sources as never })).toThrow('request.sources must be an object of parameter path -> list of places');
      }
    });
    it('takes a copy of the places: changing the request afterwards changes nothing', () => {
      const preparer = new RequestPreparer(compilePolicySource(allow, 't.yaml').ir);
      const places = ['user'];
      const input = preparer.prepare({ action: 'act', params: {}, sources: { v: places } });
      places[0] = 'read_file';
      expect(input.facts['v#source']).toEqual(['user']);
    });
    it('needs a string or a non-empty list of strings as its operand', () => {
      for (const operand of ['[]', '5', '[user, 5]', '{ a: b }']) {
        expect(() => compilePolicySource(oneRule('allow', `{ source: ${operand} }`), 't.yaml')).toThrow();
      }
      expect(compilePolicySource(oneRule('allow', '{ source: [user, user, x] }'), 't.yaml').ir.rules[0]?.conditions).toEqual([
        { op: 'source', path: 'v', fact: 'v#source', kind: 'plain', names: ['user', 'x'] },
      ]);
    });
  });

  it('dotted paths reach nested values', () => {
    const policy = oneRule('allow', '{}').replace('v: {}\n', '').concat('      headers.host: { equals: a.example }\n');
    expect(decide(policy, { action: 'act', params: { headers: { host: 'a.example' } } }).decision).toBe('allow');
    expect(decide(policy, { action: 'act', params: { headers: { host: 'b.example' } } }).decision).toBe('deny');
    expect(decide(policy, { action: 'act', params: { 'headers.host': 'a.example' } }).decision).toBe('deny');
  });

  it('context paths read the request context', () => {
    const policy = oneRule('allow', '{}').replace('v: {}\n', '').concat('      context.session.count: { max: 3 }\n');
    expect(decide(policy, { action: 'act', context: { session: { count: 3 } } }).decision).toBe('allow');
    expect(decide(policy, { action: 'act', context: { session: { count: 4 } } }).decision).toBe('deny');
    expect(decide(policy, { action: 'act' }).decision).toBe('deny');
  });
});
