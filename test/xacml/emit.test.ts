/** The XACML target: committed artifacts are fresh, the writer escapes every value, unrepresentable input is a typed diagnostic. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generatedXacml } from '../../scripts/gen-xacml.js';
import { runCli } from '../../src/cli/program.js';
import { bufferIO } from '../../src/cli/io.js';
import { compilePolicyFile } from '../../src/compiler/compile.js';
import { getTarget } from '../../src/compiler/targets.js';
import { compileXacml, escapeXml, xacmlDiagnostics, XacmlUnrepresentableError, XmlLiteralError } from '../../src/compiler/xacml/index.js';
import { CONDITION_EMITTERS } from '../../src/compiler/xacml/conditions.js';
import { globRegex, regexLiteral } from '../../src/compiler/xacml/regex.js';
import { doubleValue } from '../../src/compiler/xacml/vocabulary.js';
import { xacmlRequest } from '../../src/compiler/xacml/request.js';
import { element, textElement } from '../../src/compiler/xacml/writer.js';
import { OPERATOR_NAMES } from '../../src/compiler/operators.js';
import { oneRule, compile } from '../helpers.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), 'ape-xacml-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('committed xacml/ files', () => {
  it('are what scripts/gen-xacml.ts generates now (run `npx tsx scripts/gen-xacml.ts` when this fails)', () => {
    const files = generatedXacml();
    expect(files.size).toBe(7);
    for (const [path, content] of files) expect(readFileSync(join(ROOT, path), 'utf8'), path).toBe(content);
  });
});

describe('the XML writer', () => {
  it('escapes markup, quotes and line ends, and writes non-ASCII as character references', () => {
    expect(escapeXml(`<a href="x">&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;');
    expect(escapeXml('a\r\nb\tc')).toBe('a&#xD;&#xA;b&#x9;c');
    expect(escapeXml('ü\u202e😀')).toBe('&#xFC;&#x202E;&#x1F600;');
    expect(escapeXml(']]><!--')).toBe(']]&gt;&lt;!--');
    expect(element('Rule', { RuleId: '"><Rule Effect="Permit' }).xml).toBe('<Rule RuleId="&quot;&gt;&lt;Rule Effect=&quot;Permit"/>');
    expect(textElement('AttributeValue', { DataType: 'x' }, '</AttributeValue><Apply>').xml).toBe('<AttributeValue DataType="x">&lt;/AttributeValue&gt;&lt;Apply&gt;</AttributeValue>');
  });

  it('refuses characters XML 1.0 cannot carry', () => {
    for (const bad of ['a\u0000b', '\u0001', '\u001b[0m', '\ud800', 'x\udfff', '\uffff']) expect(() => escapeXml(bad), JSON.stringify(bad)).toThrow(XmlLiteralError);
  });

  it('writes doubles exactly (shortest round-trip form)', () => {
    for (const n of [0, 0.1, 1e21, 2 ** 53 + 2, 1e-7, -1.7976931348623157e308]) {
      const text = /<AttributeValue[^>]*>([^<]*)</.exec(doubleValue(n).xml)?.[1] as string;
      expect(Number(text)).toBe(n);
    }
    expect(doubleValue(-0).xml).toContain('>-0.0<');
  });
});

describe('glob and literal regular expressions', () => {
  it('escape every metacharacter and anchor the glob', () => {
    expect(regexLiteral('.(x)+[y]?{z}|^$\\-*')).toBe('\\.\\(x\\)\\+\\[y\\]\\?\\{z\\}\\|\\^\\$\\\\\\-\\*');
    expect(globRegex('*.example.com')).toBe('^[\\s\\S]*\\.example\\.com$');
    expect(globRegex('a*b')).toBe('^a[\\s\\S]*b$');
  });
});

describe('source: the places of a value as a string bag', () => {
  it('a list of strings is sent as a bag under urn:ape:fact:list:<fact> and named in urn:ape:fact-list; other values are not', () => {
    const resource = (facts: Record<string, unknown>) =>
      xacmlRequest({ action: 'pay', facts: facts as never }, 'h').Request.Category.find((c) => c.CategoryId.endsWith(':resource'))?.Attribute;
    expect(resource({ 'to#source': ['user', 'x'] })).toEqual([
      { AttributeId: 'urn:ape:fact:list:to#source', DataType: 'http://www.w3.org/2001/XMLSchema#string', Value: ['user', 'x'] },
      { AttributeId: 'urn:ape:fact-present', DataType: 'http://www.w3.org/2001/XMLSchema#string', Value: ['to#source'] },
      { AttributeId: 'urn:ape:fact-list', DataType: 'http://www.w3.org/2001/XMLSchema#string', Value: ['to#source'] },
    ]);
    expect(resource({ 'to#source': [] })).toEqual([
      { AttributeId: 'urn:ape:fact-present', DataType: 'http://www.w3.org/2001/XMLSchema#string', Value: ['to#source'] },
      { AttributeId: 'urn:ape:fact-list', DataType: 'http://www.w3.org/2001/XMLSchema#string', Value: ['to#source'] },
    ]);
    expect(resource({ 'to#source': ['user', 1] })).toEqual([{ AttributeId: 'urn:ape:fact-present', DataType: 'http://www.w3.org/2001/XMLSchema#string', Value: ['to#source'] }]);
    expect(resource({ 'to#source': 'user' })).toEqual([{ AttributeId: 'urn:ape:fact:string:to#source', DataType: 'http://www.w3.org/2001/XMLSchema#string', Value: 'user' }]);
  });

  it('the condition is string-at-least-one-member-of on that bag, accepted only from APE (urn:ape:facts-canonical)', () => {
    const { xml } = compileXacml(compile(oneRule('allow', '{ source: [user, get_contacts] }')));
    expect(xml).toContain('FunctionId="urn:oasis:names:tc:xacml:1.0:function:string-at-least-one-member-of"');
    expect(xml).toContain('AttributeId="urn:ape:fact:list:v#source"');
    expect(xml).toMatch(/<VariableDefinition VariableId="ape\.fact\.0\.list">\s*<Apply FunctionId="[^"]*:and">\s*<VariableReference VariableId="ape\.facts-canonical"\/>[\s\S]*?urn:ape:fact-list[\s\S]*?<\/VariableDefinition>/);
    expect(compileXacml(compile(oneRule('allow', '{ prefix: /x }'))).xml).not.toContain('urn:ape:fact-list');
  });
});

describe('ape compile --target xacml', () => {
  it('has one emitter per operator', () => {
    expect(Object.keys(CONDITION_EMITTERS).sort()).toEqual([...OPERATOR_NAMES].sort());
  });

  it('emits a PolicySet for every example policy, with escalate as an obligation and the rule and reason as advice', () => {
    for (const file of ['development.yaml', 'filesystem_scoped.yaml', 'human_in_loop.yaml', 'minimal_safe.yaml', 'read_only.yaml', 'scoped_access.yaml']) {
      const policy = compilePolicyFile(join(ROOT, 'policies', file));
      const { xml, id } = compileXacml(policy);
      expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
      expect(xml).toContain(`<PolicySet xmlns="urn:oasis:names:tc:xacml:3.0:core:schema:wd-17" PolicySetId="${id}"`);
      for (const rule of policy.ir.rules) expect(xml).toContain(`RuleId="ape:rule:${rule.id}"`);
      if (policy.ir.rules.some((r) => r.decision === 'escalate')) expect(xml).toContain('ObligationId="urn:ape:obligation:escalate" FulfillOn="Permit"');
      expect(xml).toContain('AdviceId="urn:ape:advice:decision"');
      expect(xml).toContain('AttributeId="urn:ape:reason"');
      expect(/^[\n\x20-\x7e]*$/.test(xml)).toBe(true);
    }
  });

  it('writes <name>.xml identical to the committed file, or prints it', async () => {
    const io = bufferIO();
    expect(await runCli(['compile', join(ROOT, 'policies/scoped_access.yaml'), '--target', 'xacml', '-o', out], io)).toBe(0);
    expect(readFileSync(join(out, 'scoped_access.xml'), 'utf8')).toBe(readFileSync(join(ROOT, 'xacml/scoped_access.xml'), 'utf8'));
    const printed = bufferIO();
    expect(await runCli(['compile', join(ROOT, 'policies/read_only.yaml'), '--target', 'xacml'], printed)).toBe(0);
    expect(printed.stdout).toContain(readFileSync(join(ROOT, 'xacml/read_only.xml'), 'utf8'));
    expect(getTarget('xacml')?.description).toContain('XACML 3.0');
  });

  it('refuses regex with a typed diagnostic naming the rule, operator and parameter (CLI: one line, exit 1)', async () => {
    const policy = compile(oneRule('allow', '{ regex: "^a+$" }', '{ type: string }'));
    const [d] = xacmlDiagnostics(policy);
    expect(d).toMatchObject({ code: 'xacml-unrepresentable', target: 'xacml', operator: 'regex', path: 'v', severity: 'error' });
    expect(() => compileXacml(policy)).toThrow(XacmlUnrepresentableError);
    const io = bufferIO();
    expect(await runCli(['compile', join(ROOT, 'test/conformance/policies/every_operator.yaml'), '--target', 'xacml'], io)).toBe(1);
    expect(io.stdout).toBe('');
    expect(io.stderr).toMatch(/operator 'regex' on '.*' cannot be compiled to target xacml/);
    expect(io.stderr.trim()).not.toContain('\n');
  });

  it('refuses operands XML 1.0 cannot carry (NUL, other C0 controls) with a diagnostic, never a truncated policy', () => {
    const policy = compile(oneRule('deny', '{ suffix: ["ok", "\\u0000"] }', '{ type: string }'));
    const [d] = xacmlDiagnostics(policy);
    expect(d).toMatchObject({ operator: 'suffix', path: 'v' });
    expect(d?.message).toMatch(/U\+0000 cannot be written in XML 1\.0/);
    const hostile = compilePolicyFile(join(ROOT, 'test/conformance/policies/hostile_strings.yaml'));
    expect(xacmlDiagnostics(hostile).map((x) => x.operator).sort()).toEqual(['regex', 'suffix']);
  });
});
