import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compilePolicyFile } from '../../src/compiler/compile.js';
import { ApeError, ParameterValidationError } from '../../src/errors.js';
import { NativeEvaluator } from '../../src/evaluator.js';
import { POLICY_DIR } from '../conformance/cases.js';
import { decide, diagnosticsOf, oneRule } from '../helpers.js';

const scoped = new NativeEvaluator(compilePolicyFile(join(POLICY_DIR, 'scoped_access.yaml')));
const fsScoped = new NativeEvaluator(compilePolicyFile(join(POLICY_DIR, 'filesystem_scoped.yaml')));
const read = (path: string) => scoped.decideSync({ action: 'read_file', params: { path } }).decision;
const get = (url: string) => scoped.decideSync({ action: 'http_get', params: { url } }).decision;

describe('paths are normalized before any comparison', () => {
  it.each([
    ['/workspace/../etc/passwd', 'deny'],
    ['/workspace/a/../../etc/passwd', 'deny'],
    ['/workspace/./notes.md', 'allow'],
    ['//workspace//notes.md', 'allow'],
    ['workspace/notes.md', 'deny'],
    ['../workspace/notes.md', 'deny'],
    ['/workspace/notes\u0000.md', 'deny'],
    ['', 'deny'],
    ['/WORKSPACE/notes.md', 'deny'],
    ['/workspace', 'deny'],
    ['/workspacex/notes.md', 'deny'],
    ['/workspace/.env', 'deny'],
    ['/workspace/sub/../.env', 'deny'],
  ])('read_file %j is %s', (path, expected) => {
    expect(read(path)).toBe(expected);
  });

  it('a traversal out of an allowed folder into a denied one is denied by the deny rule', () => {
    const result = fsScoped.decideSync({ action: 'read_file', params: { path: '/srv/app/public/../secrets/db.txt' } });
    expect(result).toMatchObject({ decision: 'deny', rule: 'secrets' });
  });

  it('the reason names the normalized path', () => {
    const result = scoped.decideSync({ action: 'read_file', params: { path: '/workspace/../etc/passwd' } });
    expect(result.reasons).toEqual(["rule 'workspace-read': path '/etc/passwd' does not start with any of '/workspace/'"]);
  });
});

describe('hosts are lower-cased, without a trailing dot, parsed as browsers parse them', () => {
  it.each([
    ['https://api.github.com/repos', 'allow'],
    ['https://API.EXAMPLE.COM./v1', 'allow'],
    ['https://a.b.example.com/', 'allow'],
    ['https://example.com/', 'deny'],
    ['https://example.com.evil.io/', 'deny'],
    ['https://evil.io/?next=api.example.com', 'deny'],
    ['https://api.example.com@evil.io/', 'deny'],
    ['https://evil.io\\@api.example.com/', 'deny'],
    ['https://evil.io#.example.com', 'deny'],
    ['http://api.github.com/', 'deny'],
    ['javascript:alert(1)//api.github.com', 'deny'],
    ['not a url', 'deny'],
  ])('http_get %j is %s', (url, expected) => {
    expect(get(url)).toBe(expected);
  });

  it('a denylist is not bypassed by upper case or a trailing dot', () => {
    const policy = `name: p
rules:
  - action: http_get
    decision: allow
    conditions:
      url.host: { denylist: [evil.io, "*.evil.io"] }
`;
    for (const url of ['https://EVIL.IO/', 'https://evil.io./', 'https://X.Evil.Io./', 'https://%65vil.io/']) {
      expect(decide(policy, { action: 'http_get', params: { url } }).decision, url).toBe('deny');
    }
    expect(decide(policy, { action: 'http_get', params: { url: 'https://good.io/' } }).decision).toBe('allow');
  });

  it('email domains are canonicalized too', () => {
    expect(scoped.decideSync({ action: 'send_email', params: { to: 'bob@Mail.EXAMPLE.com.', subject: 's', body: 'b' } }).decision).toBe('allow');
    expect(scoped.decideSync({ action: 'send_email', params: { to: 'bob@example.com@evil.io', subject: 's', body: 'b' } }).decision).toBe('deny');
  });
});

describe('numbers are typed', () => {
  it('NaN, Infinity and non-JSON values are a typed error, never a decision', () => {
    for (const size of [NaN, Infinity, -Infinity]) {
      expect(() => scoped.decideSync({ action: 'write_file', params: { path: '/workspace/a', content: 'x', size } })).toThrow(ParameterValidationError);
    }
    expect(() => scoped.decideSync({ action: 'read_file', params: { path: '/workspace/a', encoding: undefined as unknown as string } })).toThrow(ParameterValidationError);
    expect(() => scoped.decideSync({ action: 'read_file', params: { path: '/workspace/a', extra: () => 1 } as Record<string, unknown> })).toThrow(ParameterValidationError);
  });

  it('numeric strings and "nan" violate a number schema (typed error)', () => {
    for (const size of ['nan', '5', '1e3']) {
      expect(() => scoped.decideSync({ action: 'write_file', params: { path: '/workspace/a', content: 'x', size } })).toThrow(ParameterValidationError);
    }
  });

  it('without a schema, numeric strings never satisfy min or max', () => {
    for (const v of ['nan', '5', '-1', 'Infinity', '']) {
      expect(decide(oneRule('allow', '{ min: 0, max: 10 }'), { action: 'act', params: { v } }).decision).toBe('deny');
      expect(decide(oneRule('deny', '{ max: 10 }', '{}', 'allow'), { action: 'act', params: { v } }).decision).toBe('deny');
    }
  });

  it('equals compares JSON values exactly: 1 is not "1", true is not "true"', () => {
    expect(decide(oneRule('allow', '{ equals: 1 }'), { action: 'act', params: { v: '1' } }).decision).toBe('deny');
    expect(decide(oneRule('allow', '{ equals: "1" }'), { action: 'act', params: { v: 1 } }).decision).toBe('deny');
    expect(decide(oneRule('allow', '{ equals: true }'), { action: 'act', params: { v: 'true' } }).decision).toBe('deny');
    expect(decide(oneRule('allow', '{ one_of: [1, 2] }'), { action: 'act', params: { v: '2' } }).decision).toBe('deny');
  });
});

describe('requests that try to confuse the evaluator', () => {
  it('parameters of a standard action are validated against its schema before any decision', () => {
    expect(() => scoped.decideSync({ action: 'read_file', params: {} })).toThrow(ParameterValidationError);
    expect(() => scoped.decideSync({ action: 'read_file', params: { path: '/workspace/a', mode: 'rw' } })).toThrow(ParameterValidationError);
    expect(() => scoped.decideSync({ action: 'read_file', params: { path: ['/workspace/a'] } })).toThrow(ParameterValidationError);
  });

  it('action ids are exact: case and whitespace variants are other actions', () => {
    expect(() => scoped.decideSync({ action: 'READ_FILE', params: { path: '/workspace/a' } })).not.toThrow();
    expect(scoped.decideSync({ action: 'READ_FILE', params: { path: '/workspace/a' } }).decision).toBe('deny');
    expect(scoped.decideSync({ action: 'read_file ', params: { path: '/workspace/a' } }).decision).toBe('deny');
  });

  it('a __proto__ key in the parameters is data, not a path to the prototype', () => {
    const params = JSON.parse('{"__proto__": {"path": "/workspace/a"}}') as Record<string, unknown>;
    expect(decide(oneRule('allow', '{ prefix: /w }').replace('v:', 'path:'), { action: 'act', params }).decision).toBe('deny');
  });

  it('malformed requests are typed errors', () => {
    for (const bad of [null, 'read_file', { action: '' }, { action: 5 }, { action: 'a', params: [] }, { action: 'a', context: 'x' }]) {
      expect(() => scoped.decideSync(bad as never)).toThrow(ApeError);
    }
  });

  it('cyclic and very deep parameters are typed errors', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(() => decide(oneRule('allow', '{ exists: true }'), { action: 'act', params: cyclic })).toThrow(ParameterValidationError);
    let deep: unknown = 'x';
    for (let i = 0; i < 100; i++) deep = { d: deep };
    expect(() => decide(oneRule('allow', '{ exists: true }'), { action: 'act', params: { v: deep } })).toThrow(ParameterValidationError);
  });
});

describe('strings that are not valid Unicode', () => {
  it('a lone surrogate in a policy is a positioned diagnostic, not a crash', async () => {
    const { checkPolicySource } = await import('../../src/compiler/compile.js');
    const { diagnostics } = checkPolicySource('name: p\nrules:\n  - action: read_file\n    decision: allow\n    conditions:\n      path: { prefix: "/tmp/\\ud800" }\n');
    expect(diagnostics.map((d) => `${d.line}:${d.column} ${d.code}`)).toEqual(['6:23 invalid-value']);
  });
  it('a lone surrogate in parameters is a typed error', () => {
    expect(() => scoped.decideSync({ action: 'read_file', params: { path: '/workspace/\ud800' } })).toThrow(ParameterValidationError);
    expect(() => decide(oneRule('allow', '{ exists: true }'), { action: 'act', params: { ['\udc00']: 1 } })).toThrow(ParameterValidationError);
  });
});

describe('URL operands', () => {
  const policy = (operand: string) => `name: p
rules:
  - action: http_get
    decision: allow
    conditions:
      url: { prefix: "${operand}" }
`;
  it('a URL prefix is canonicalized like the values it is compared with', () => {
    expect(decide(policy('HTTPS://API.Example.COM/v1/'), { action: 'http_get', params: { url: 'https://api.example.com/v1/x' } }).decision).toBe('allow');
    expect(decide(policy('https://api.example.com/v1/'), { action: 'http_get', params: { url: 'https://API.EXAMPLE.com/v1/../v1/x' } }).decision).toBe('allow');
    expect(decide(policy('https://api.example.com/v1/'), { action: 'http_get', params: { url: 'https://api.example.com/v1/../admin' } }).decision).toBe('deny');
  });
  it('a URL prefix that does not end its host with / is flagged: it would match other hosts', () => {
    const ds = diagnosticsOf(policy('https://api.example.com'));
    expect(ds.map((d) => d.code)).toEqual(['prefix-without-slash']);
    // What the warning is about: both reach evil.io.
    expect(decide(policy('https://api.example.com'), { action: 'http_get', params: { url: 'https://api.example.com@evil.io/' } }).decision).toBe('allow');
    expect(decide(policy('https://api.example.com'), { action: 'http_get', params: { url: 'https://api.example.com.evil.io/' } }).decision).toBe('allow');
    expect(decide(policy('https://api.example.com/'), { action: 'http_get', params: { url: 'https://api.example.com@evil.io/' } }).decision).toBe('deny');
  });
});
