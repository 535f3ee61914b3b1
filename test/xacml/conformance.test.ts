/**
 * The xacml engine joins the shared conformance suite: one real AuthzForce RESTful PDP server
 * (started once for this file, on loopback) serves the PolicySets of every suite policy XACML can
 * express, selected by policy hash, and every decision must equal native's field for field.
 * Policies using `regex` (or strings XML 1.0 cannot carry) are excluded: the target refuses them
 * with a diagnostic (emit.test.ts); their regex-free variants run below when representable.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { NativeEngine } from '../../src/adapters/native/index.js';
import { parseXacmlResponse, XacmlEngine } from '../../src/adapters/xacml/index.js';
import { compilePolicySource, type CompiledPolicy } from '../../src/compiler/compile.js';
import { ATTRIBUTE, compileXacml, xacmlDiagnostics, xacmlRequest } from '../../src/compiler/xacml/index.js';
import { FIXTURE_DIR, generatedInputs, POLICY_DIR, requestInputs, suitePolicies } from '../conformance/cases.js';
import { comparable, describeConformance, GENERATED_PER_POLICY } from '../conformance/run.js';
import { startAuthzforce, type RunningPdp } from '../setup/authzforce.js';

const exclude = (policy: CompiledPolicy) => {
  const diagnostics = xacmlDiagnostics(policy);
  return diagnostics.length ? `XACML cannot express it: ${diagnostics.map((d) => `${d.operator ?? d.rule}: ${d.message}`).join('; ')}` : undefined;
};

/** The policy text with every `regex` condition removed (a rule left with no condition keeps its actions). */
function withoutRegex(text: string): string {
  const doc = parse(text) as { rules: { conditions?: Record<string, Record<string, unknown>> }[] };
  for (const rule of doc.rules) {
    for (const [path, ops] of Object.entries(rule.conditions ?? {})) {
      delete ops['regex'];
      if (Object.keys(ops).length === 0) delete rule.conditions?.[path];
    }
  }
  return stringify(doc);
}

const suite = suitePolicies();
const excluded = suite.filter(({ policy }) => exclude(policy) !== undefined);
const variants = excluded.flatMap(({ name }) => {
  const dir = name.startsWith('fixtures/') ? FIXTURE_DIR : name.startsWith('policies/') ? POLICY_DIR : null;
  if (dir === null) return [];
  const policy = compilePolicySource(withoutRegex(readFileSync(join(dir, name.slice(name.indexOf('/') + 1)), 'utf8')), `${name}.no-regex.yaml`);
  return xacmlDiagnostics(policy).length ? [] : [{ name, policy }];
});
const served = [...suite.filter(({ policy }) => exclude(policy) === undefined), ...variants];
let pdp: RunningPdp | undefined;

beforeAll(async () => {
  pdp = await startAuthzforce(served.map(({ policy }) => ({ hash: policy.hash, set: compileXacml(policy) })), 110_000);
});
afterAll(async () => {
  await pdp?.stop();
});

function engine(policy: CompiledPolicy): XacmlEngine {
  if (!pdp) throw new Error('the PDP did not start');
  return new XacmlEngine(policy, { url: pdp.url, timeoutMs: 20_000 });
}

describeConformance('xacml', (policy) => Promise.resolve(engine(policy)), { exclude });

describe('conformance: xacml on regex-free variants of the excluded policies', () => {
  it('excludes only policies that use regex or strings XML cannot carry', () => {
    for (const { name, policy } of excluded) {
      for (const d of xacmlDiagnostics(policy)) expect([name, d.operator === 'regex' || /XML 1\.0|surrogate/.test(d.message)]).toEqual([name, true]);
    }
  });
  for (const { name, policy } of variants) {
    it(`${name} without regex`, async () => {
      const native = new NativeEngine(policy.ir, policy.hash);
      const xacml = engine(policy);
      const mismatches: unknown[] = [];
      for (const input of [...requestInputs(policy), ...generatedInputs(policy, GENERATED_PER_POLICY)]) {
        const expected = comparable(native.decideSync(input));
        const actual = comparable(await xacml.decide(input));
        if (JSON.stringify(actual) !== JSON.stringify(expected)) mismatches.push({ input, native: expected, xacml: actual });
        if (mismatches.length >= 5) break;
      }
      expect(mismatches).toEqual([]);
    });
  }
});

describe('source in a raw request: a PEP cannot forge a list of places', () => {
  it('the same list is a Permit from APE and a Deny without urn:ape:facts-canonical (allow fails, deny holds)', async () => {
    if (!pdp) throw new Error('the PDP did not start');
    const { policy } = served.find(({ name }) => name === 'fixtures/provenance_origin.yaml') as { policy: CompiledPolicy };
    const input = { action: 'pay', facts: { recipient: 'bob', amount: 5, 'recipient#source': ['user'] } };
    expect(new NativeEngine(policy.ir, policy.hash).decideSync(input).decision).toBe('allow');
    const ask = async (body: unknown) => {
      const response = await fetch((pdp as RunningPdp).url, { method: 'POST', headers: { 'content-type': 'application/xacml+json', accept: 'application/xacml+json' }, body: JSON.stringify(body) });
      return parseXacmlResponse(await response.text(), 'pdp').decision;
    };
    const request = xacmlRequest(input, policy.hash);
    expect(await ask(request)).toBe('Permit');
    const raw = { Request: { Category: request.Request.Category.map((c) => ({ ...c, Attribute: c.Attribute.filter((a) => a.AttributeId !== ATTRIBUTE.canonical) })) } };
    expect(JSON.stringify(raw)).not.toContain(ATTRIBUTE.canonical);
    expect(await ask(raw)).toBe('Deny');
  });
});
