/**
 * The Rego canonicalization library against APE's TypeScript canonicalization, on generated values
 * (fast-check): every answer Rego gives is exactly TypeScript's (value, parts, or missing), and Rego is
 * "unsure" about a canonical value only in the documented cases (IPv6, punycode, URL credentials or
 * non-special schemes).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { runOpa } from '../../src/adapters/opa/cli.js';
import { canonicalEmail, canonicalHost, canonicalIp, canonicalPath, canonicalUrl } from '../../src/compiler/canonical.js';
import { compilePolicyFile } from '../../src/compiler/compile.js';
import { emitRego } from '../../src/compiler/rego/index.js';
import { tempDir } from '../opa/helpers.js';

const temp = tempDir('ape-rego-canonical-');
afterAll(() => temp.remove());

type Kind = 'path' | 'domain' | 'url' | 'email' | 'ip';
type Expected = { value: unknown; parts?: Record<string, unknown> } | null;

const segment = fc.constantFrom('', '.', '..', 'a', 'B', 'work', 'x.y', '%2e', '~', '-', '1', '0x1', 'xn--a', 'é', '08');
const char = fc.constantFrom('a', 'b', 'Z', '.', '/', '..', '//', ':', '@', '1', '0', '-', '_', '%', '?', '#', '[', ']', ' ', 'é', '\t', 'x', 'n', '\u3002', 'Ａ', '\u0000', '{', '|', '^', '`', "'", '"');
const text = fc.array(char, { maxLength: 12 }).map((a) => a.join(''));
const paths = fc.oneof(fc.array(segment, { maxLength: 8 }).map((a) => `/${a.join('/')}`), text);
const hosts = fc.oneof(fc.array(segment, { minLength: 1, maxLength: 4 }).map((a) => a.join('.')), text);
const urls = fc
  .tuple(
    fc.constantFrom('http://', 'https://', 'HTTP://', 'hTTps://', 'ftp://', 'ws://', 'wss://', 'mailto:', 'http://u:p@', 'http://A.'),
    hosts,
    fc.constantFrom('', ':80', ':8080', ':0', ':443', ':', ':021'),
    fc.oneof(paths, fc.constant('')),
    fc.constantFrom('', '?a=b', '?', "?a'b", '#f', '#a#b', '?x y'),
  )
  .map((p) => p.join(''));
const emails = fc.tuple(fc.constantFrom('a', 'a@b', '', 'x y', 'A.b', 'a,b'), fc.constantFrom('@', '@@', ''), hosts).map((p) => p.join(''));
const ips = fc.oneof(
  fc.tuple(fc.nat(300), fc.nat(300), fc.nat(300), fc.nat(300)).map((a) => a.join('.')),
  fc.constantFrom('::1', '[1.2.3.4]', '01.2.3.4', '1.2.3', '0x7f.0.0.1', '::ffff:1.2.3.4', '1.2.3.4 '),
  text,
);

function expected(kind: Kind, v: string): Expected {
  const strip = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined));
  switch (kind) {
    case 'path': {
      const c = canonicalPath(v);
      return c === undefined ? null : { value: c };
    }
    case 'domain': {
      const c = canonicalHost(v);
      return c === undefined ? null : { value: c };
    }
    case 'url': {
      const c = canonicalUrl(v);
      return c === undefined ? null : { value: c.href, parts: strip({ scheme: c.scheme, host: c.host, port: c.port, path: c.path }) };
    }
    case 'email': {
      const c = canonicalEmail(v);
      return c === undefined ? null : { value: c.address, parts: { local: c.local, domain: c.domain } };
    }
    case 'ip': {
      const c = canonicalIp(v);
      return c === undefined ? null : { value: c.text, parts: { bits: c.bits } };
    }
  }
}

/** The documented cases where Rego denies a value that is already canonical. */
function documentedUnsure(kind: Kind, v: string): boolean {
  if (/(^|[.@/])xn--/i.test(v) || v.includes('[')) return true;
  if (kind === 'ip') return v.includes(':');
  if (kind === 'url') return !/^(https?|wss?|ftp):\/\//.test(v) || /^[a-z]+:\/\/[^/?#]*@/.test(v);
  return false;
}

describe('Rego canonicalization = TypeScript canonicalization', () => {
  it('gives TypeScript\'s answer or is unsure, and is unsure of canonical values only where documented', async () => {
    const cases: [Kind, string][] = [];
    const add = (kind: Kind, arb: fc.Arbitrary<string>) => fc.sample(arb, 500).forEach((v) => cases.push([kind, v]));
    add('path', paths);
    add('domain', hosts);
    add('url', urls);
    add('email', emails);
    add('ip', ips);
    const policy = compilePolicyFile(new URL('../../policies/minimal_safe.yaml', import.meta.url).pathname);
    const module = join(temp.dir, 'policy.rego');
    writeFileSync(module, emitRego(policy));
    writeFileSync(join(temp.dir, 'cases.json'), JSON.stringify({ cases }));
    const fns = ['path', 'domain', 'url', 'email', 'ip'].map((k) => `"${k}": data.ape.minimal_safe._kind_${k}(v)`).join(', ');
    const query = `[r | some [k, v] in data.cases; r := {${fns}}[k]]`;
    const { stdout } = await runOpa(['eval', '--format', 'json', '-d', module, '-d', join(temp.dir, 'cases.json'), query]);
    const answers = (JSON.parse(stdout) as { result: { expressions: { value: Record<string, unknown>[] }[] }[] }).result[0]?.expressions[0]?.value ?? [];
    expect(answers).toHaveLength(cases.length);
    const wrong: unknown[] = [];
    let exact = 0;
    let unsure = 0;
    cases.forEach(([kind, v], i) => {
      const answer = answers[i] as { unsure?: string; value?: unknown; parts?: Record<string, unknown> };
      const want = expected(kind, v);
      if (answer.unsure !== undefined) {
        unsure++;
        if (want !== null && want.value === v && !documentedUnsure(kind, v)) wrong.push({ kind, v, unsure: answer.unsure });
        return;
      }
      exact++;
      if (want === null ? Object.keys(answer).length !== 0 : !isDeepEqual(answer, want)) wrong.push({ kind, v, rego: answer, ts: want });
    });
    expect(JSON.stringify(wrong.slice(0, 5))).toBe("[]");
    expect(exact).toBeGreaterThan(cases.length / 2);
    expect(unsure).toBeGreaterThan(50);
  }, 60_000);
});

function isDeepEqual(a: unknown, b: unknown): boolean {
  const sorted = (x: unknown): unknown =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([p], [q]) => (p < q ? -1 : 1)).map(([k, y]) => [k, sorted(y)])) : x;
  return JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
}
