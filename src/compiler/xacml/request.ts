/** APE's engine input as an XACML 3.0 JSON Profile request (what the `xacml` engine sends). */
import type { EngineInput } from '../ir.js';
import { ATTRIBUTE, CATEGORY, DATATYPE, factAttributeId } from './vocabulary.js';

/** One attribute of a JSON Profile request. */
export interface XacmlJsonAttribute {
  AttributeId: string;
  DataType: string;
  Value: string | boolean | string[];
}

/** A JSON Profile request (one category per kind). */
export interface XacmlJsonRequest {
  Request: { Category: { CategoryId: string; Attribute: XacmlJsonAttribute[] }[] };
}

/**
 * Encodes an engine input: the action (and previous action), each fact typed by its JSON type
 * (numbers as `double` text, JavaScript's shortest round-trip form, -0 as 0), the names of facts
 * holding another JSON value (and, for a list of strings, its name in `urn:ape:fact-list` and its
 * strings under `urn:ape:fact:list:<fact>`), `urn:ape:facts-canonical = true` (APE canonicalized the facts) and
 * the policy hash.
 */
export function xacmlRequest(input: EngineInput, policyHash: string): XacmlJsonRequest {
  const action: XacmlJsonAttribute[] = [{ AttributeId: ATTRIBUTE.action, DataType: DATATYPE.string, Value: input.action }];
  if (input.previous_action !== undefined) action.push({ AttributeId: ATTRIBUTE.previousAction, DataType: DATATYPE.string, Value: input.previous_action });
  const resource: XacmlJsonAttribute[] = [];
  const others: string[] = [];
  const lists: string[] = [];
  for (const [fact, value] of Object.entries(input.facts)) {
    if (Array.isArray(value) && value.every((x) => typeof x === 'string')) {
      lists.push(fact);
      if (value.length) resource.push({ AttributeId: factAttributeId(fact, 'list'), DataType: DATATYPE.string, Value: [...(value as string[])] });
    }
    if (typeof value === 'string') resource.push({ AttributeId: factAttributeId(fact, 'string'), DataType: DATATYPE.string, Value: value });
    else if (typeof value === 'number') resource.push({ AttributeId: factAttributeId(fact, 'double'), DataType: DATATYPE.double, Value: String(value + 0) });
    else if (typeof value === 'boolean') resource.push({ AttributeId: factAttributeId(fact, 'boolean'), DataType: DATATYPE.boolean, Value: value });
    else others.push(fact);
  }
  if (others.length) resource.push({ AttributeId: ATTRIBUTE.otherFacts, DataType: DATATYPE.string, Value: others });
  if (lists.length) resource.push({ AttributeId: ATTRIBUTE.listFacts, DataType: DATATYPE.string, Value: lists });
  const environment: XacmlJsonAttribute[] = [
    { AttributeId: ATTRIBUTE.canonical, DataType: DATATYPE.boolean, Value: true },
    { AttributeId: ATTRIBUTE.policyHash, DataType: DATATYPE.string, Value: policyHash },
  ];
  return {
    Request: {
      Category: [
        { CategoryId: CATEGORY.action, Attribute: action },
        { CategoryId: CATEGORY.resource, Attribute: resource },
        { CategoryId: CATEGORY.environment, Attribute: environment },
      ],
    },
  };
}
