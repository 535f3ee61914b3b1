/**
 * The facts a policy's rules read, as XACML variables. A fact is "accepted" with a type only when
 * its attribute holds exactly one value, of that type, that can be trusted: either the request says
 * APE canonicalized its facts (`urn:ape:facts-canonical`), or the raw value is already in canonical
 * form for its kind. Derived facts (lengths, IP bits, URL and email parts, provenance, sources) are
 * trusted only from APE.
 */
import { actionDefinition } from '../engine-input.js';
import type { PolicyIR, ValueKind } from '../ir.js';
import { resolvePath } from '../paths.js';
import type { FactRefs } from './conditions.js';
import { CANONICAL_FORMS } from './regex.js';
import {
  and,
  anyOf,
  ATTRIBUTE,
  bagSizeIs,
  boolValue,
  CATEGORY,
  designator,
  doubleValue,
  factAttributeId,
  FN,
  not,
  or,
  apply,
  strValue,
  varRef,
} from './vocabulary.js';
import { element, type Xml } from './writer.js';

/** How a raw (not APE-canonicalized) value of a fact is treated. */
export type RawTrust = { kind: 'plain' } | { kind: 'canonical-form'; kinds: Exclude<ValueKind, 'plain'>[] } | { kind: 'derived' };

/** One fact of the policy. */
export interface PolicyFact {
  fact: string;
  index: number;
  trust: RawTrust;
  refs: FactRefs;
}

/** The variable holding whether the request says its facts are APE-canonical. */
export const CANONICAL_VAR = 'ape.facts-canonical';

/** How each fact is read from a raw request, from every rule and action that reads it (the strictest wins). */
export function factTrust(ir: PolicyIR): Map<string, RawTrust> {
  const out = new Map<string, RawTrust>();
  for (const rule of ir.rules) {
    const known = rule.actions.map((id) => actionDefinition(ir, id)).find((a) => a !== undefined);
    for (const condition of rule.conditions) {
      let trust = out.get(condition.fact) ?? ({ kind: 'plain' } as RawTrust);
      const transformed = condition.op === 'min_length' || condition.op === 'max_length' || condition.op === 'cidr' || condition.op === 'provenance' || condition.op === 'source';
      for (const id of rule.actions) {
        const resolved = resolvePath(actionDefinition(ir, id) ?? known, condition.path);
        if (transformed || resolved.derived !== undefined) trust = { kind: 'derived' };
        else if (resolved.kind !== 'plain' && trust.kind !== 'derived') {
          const kinds = trust.kind === 'canonical-form' ? trust.kinds : [];
          if (!kinds.includes(resolved.kind)) kinds.push(resolved.kind);
          trust = { kind: 'canonical-form', kinds };
        }
      }
      out.set(condition.fact, trust);
    }
  }
  return out;
}

const LARGEST = 1.7976931348623157e308;

function variable(id: string, expression: Xml): Xml {
  return element('VariableDefinition', { VariableId: id }, [expression]);
}

/** The facts of a policy, with their variable definitions (in dependency order). */
export function emitFacts(ir: PolicyIR): { facts: Map<string, PolicyFact>; definitions: Xml[] } {
  const definitions: Xml[] = [
    variable(CANONICAL_VAR, anyOf(FN.booleanEqual, boolValue(true), designator(CATEGORY.environment, ATTRIBUTE.canonical, 'boolean'))),
  ];
  const canonical = varRef(CANONICAL_VAR);
  const facts = new Map<string, PolicyFact>();
  const others = designator(CATEGORY.resource, ATTRIBUTE.otherFacts, 'string');
  const lists = designator(CATEGORY.resource, ATTRIBUTE.listFacts, 'string');
  const sourceFacts = new Set(ir.rules.flatMap((r) => r.conditions.filter((c) => c.op === 'source').map((c) => c.fact)));
  for (const [fact, trust] of factTrust(ir)) {
    const index = facts.size;
    const v = (suffix: string) => `ape.fact.${index}.${suffix}`;
    const refs: FactRefs = {
      string: v('string'),
      double: v('double'),
      boolean: v('boolean'),
      present: v('present'),
      maybe: v('maybe'),
      list: v('list'),
      stringBag: designator(CATEGORY.resource, factAttributeId(fact, 'string'), 'string'),
      doubleBag: designator(CATEGORY.resource, factAttributeId(fact, 'double'), 'double'),
      booleanBag: designator(CATEGORY.resource, factAttributeId(fact, 'boolean'), 'boolean'),
      listBag: designator(CATEGORY.resource, factAttributeId(fact, 'list'), 'string'),
    };
    const other = apply(FN.stringIsIn, [strValue(fact), others]);
    const counts = (s: number, d: number, b: number) => [bagSizeIs('string', refs.stringBag, s), bagSizeIs('double', refs.doubleBag, d), bagSizeIs('boolean', refs.booleanBag, b), not(other)];
    const anyPresent = or([not(bagSizeIs('string', refs.stringBag, 0)), not(bagSizeIs('double', refs.doubleBag, 0)), not(bagSizeIs('boolean', refs.booleanBag, 0)), other]);
    let rawString: Xml;
    let rawOther: Xml;
    let rawPresent: Xml;
    let rawMaybe: Xml = anyPresent;
    if (trust.kind === 'plain') {
      rawString = boolValue(true);
      rawOther = boolValue(true);
      rawPresent = anyPresent;
    } else if (trust.kind === 'derived') {
      rawString = boolValue(false);
      rawOther = boolValue(false);
      rawPresent = boolValue(false);
      rawMaybe = boolValue(true);
    } else {
      rawString = and(
        trust.kinds.flatMap((kind) => {
          const form = CANONICAL_FORMS[kind];
          return [anyOf(FN.stringRegexpMatch, strValue(form.match), refs.stringBag), ...form.reject.map((r) => not(anyOf(FN.stringRegexpMatch, strValue(r), refs.stringBag)))];
        }),
      );
      rawOther = boolValue(false);
      rawPresent = and([...counts(1, 0, 0), rawString]);
    }
    const finite = and([anyOf(FN.doubleLe, doubleValue(-LARGEST), refs.doubleBag), anyOf(FN.doubleGe, doubleValue(LARGEST), refs.doubleBag)]);
    definitions.push(
      variable(refs.string, and([...counts(1, 0, 0), or([canonical, rawString])])),
      variable(refs.double, and([...counts(0, 1, 0), finite, or([canonical, rawOther])])),
      variable(refs.boolean, and([...counts(0, 0, 1), or([canonical, rawOther])])),
      variable(refs.present, or([and([canonical, anyPresent]), and([not(canonical), rawPresent])])),
      variable(refs.maybe, or([and([canonical, anyPresent]), and([not(canonical), rawMaybe])])),
    );
    // A list of places is only ever trusted from APE (`source` facts are derived).
    if (sourceFacts.has(fact)) definitions.push(variable(refs.list, and([canonical, apply(FN.stringIsIn, [strValue(fact), lists])])));
    facts.set(fact, { fact, index, trust, refs });
  }
  return { facts, definitions };
}
