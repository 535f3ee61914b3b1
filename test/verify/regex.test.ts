/** The RE2 subset translates exactly: Z3 and re2js agree on membership; other constructs are reported untranslated. */
import fc from 'fast-check';
import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import { globToRegExp } from '../../src/compiler/glob.js';
import { globRegex, translateRegex } from '../../src/verify/regex.js';
import { fitsAlphabet, strLit, type Smt } from '../../src/verify/smtlib.js';
import { checkSmt } from '../../src/verify/solver.js';

/** Membership of each string in a regex term, evaluated by Z3 in one query. */
async function z3Members(re: Smt, strings: string[]): Promise<boolean[]> {
  const lines = strings.map((s, i) => `(declare-const |b${i}| Bool)\n(assert (= |b${i}| (str.in_re ${strLit(s)} ${re})))`);
  const result = await checkSmt(lines.join('\n'), 30_000);
  if (result.status !== 'sat') throw new Error(`solver: ${result.status}`);
  return strings.map((_, i) => {
    const v = result.model.get(`b${i}`)?.value;
    return v?.kind === 'truth' ? v.value : false;
  });
}

const PATTERNS = [
  '^(npm|npx|node|git) ',
  'rm\\s+-[a-zA-Z]*[rf]|mkfs|dd\\s+if=|shutdown',
  '^\\s*(?i:select|with)\\s',
  '(?i)kelvin',
  '^[^/]+\\.pem$',
  'a{2,3}b?$',
  '^(?:ab|cd)*$',
  'x.y',
  '(?s)x.y',
  '\\d{3}-\\w+',
  '[\\]a-c-]',
  'curl[^|]*\\|\\s*(ba)?sh',
  '^$',
  '\\x{e9}t\\x41',
  '(?P<name>foo)|^bar',
];
const SAMPLES = ['', 'npm test', 'xnpm test', 'rm  -rf /', 'rm -x', 'mkfs.ext4', '  SeLeCt 1', 'selectx', 'KELVIN', '\u212aelvin', 'key.pem', 'a/key.pem', 'aab', 'aaaab', 'abcdab', 'abc', 'x\ny', 'xzy', '123-abc', '12-a', ']', '-', 'b', 'curl x | bash', 'curl x|sh', 'éLA', 'étA', 'foo', 'xbar', 'bar'];

describe('solver queries', () => {
  it('a query the solver cannot finish in time is unknown, not unsat', async () => {
    const fermat = '(declare-const x Int)(declare-const y Int)(declare-const z Int)\n(assert (and (> x 0) (> y 0) (> z 0) (= (+ (* x x x) (* y y y)) (* z z z))))';
    const result = await checkSmt(fermat, 300);
    expect(result.status).toBe('unknown');
  });

  it('malformed SMT text is unknown with the solver error', async () => {
    const result = await checkSmt('(assert (= 1 "a"))', 1000);
    expect(result).toMatchObject({ status: 'unknown', reason: expect.stringMatching(/solver error/) });
  });
});

describe('RE2 subset as SMT regexes', () => {
  it.each(PATTERNS)('%s: Z3 finds a match exactly when re2js does', async (pattern) => {
    const t = translateRegex(pattern);
    expect('regex' in t, JSON.stringify(t)).toBe(true);
    if (!('regex' in t)) return;
    const re = RE2JS.compile(pattern);
    const generated = fc.sample(fc.string({ unit: fc.constantFrom('a', 'b', 'x', 'y', ' ', '\n', '-', '/', '.', '|', 'S', 's', 'e', 'l', '1', '\u212a', 'k'), maxLength: 10 }), { numRuns: 60, seed: 7 });
    const strings = [...SAMPLES, ...generated];
    expect(await z3Members(t.regex, strings)).toEqual(strings.map((s) => re.matcher(s).find()));
  });

  it.each([
    ['\\bword\\b', /escape/],
    ['(?m)^a', /multi-line/],
    ['a^b', /anchor/],
    ['\\pL', /escape/],
    ['[[:alpha:]]', /POSIX/],
    ['(?=a)', /not a valid RE2|group/],
    ['\\x{10FFFF}', /U\+2FFFF/],
  ])('%s is reported untranslated', (pattern, why) => {
    const t = translateRegex(pattern);
    expect('unsupported' in t && t.unsupported).toMatch(why);
  });

  it('globs: Z3 agrees with the native glob matcher, `*` included', async () => {
    const globs = ['*.example.com', '/srv/app/secrets/*', '*/.git/*', 'a*b*c', '*', '(x)+[y]?'];
    for (const glob of globs) {
      const strings = ['a.example.com', '.example.com', 'example.com', '/srv/app/secrets/x', '/x/.git/y', 'abc', 'a\nb\nc', '', '(x)+[y]?', 'xx'];
      const native = globToRegExp(glob);
      expect(await z3Members(globRegex(glob) as Smt, strings)).toEqual(strings.map((s) => native.test(s)));
    }
    expect(fitsAlphabet('\u{30000}')).toBe(false);
    expect(globRegex('\u{30000}*')).toBeUndefined();
  });
});
