/** Reads an XACML 3.0 JSON Profile response: the decision, its status, and obligations/advice as attribute maps. */
import { XacmlPdpResponseError } from './errors.js';

/** One obligation or advice: its id and its attribute assignments (id -> values as text). */
export interface PepAction {
  id: string;
  values: Map<string, string[]>;
}

/** The single result of a JSON Profile response. */
export interface XacmlResult {
  decision: string;
  status: string;
  obligations: PepAction[];
  advice: PepAction[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function pepActions(list: unknown, url: string): PepAction[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new XacmlPdpResponseError(url, 200, 'obligations or advice are not a list');
  return list.map((entry: unknown) => {
    if (!isObject(entry) || typeof entry['Id'] !== 'string') throw new XacmlPdpResponseError(url, 200, 'an obligation or advice has no Id');
    const values = new Map<string, string[]>();
    const assignments = entry['AttributeAssignment'] ?? [];
    if (!Array.isArray(assignments)) throw new XacmlPdpResponseError(url, 200, 'AttributeAssignment is not a list');
    for (const a of assignments as unknown[]) {
      if (!isObject(a) || typeof a['AttributeId'] !== 'string') throw new XacmlPdpResponseError(url, 200, 'an AttributeAssignment has no AttributeId');
      const raw = a['Value'];
      const text = typeof raw === 'string' ? raw : typeof raw === 'boolean' || typeof raw === 'number' ? String(raw) : undefined;
      if (text === undefined) throw new XacmlPdpResponseError(url, 200, `AttributeAssignment ${a['AttributeId']} has no scalar Value`);
      const list = values.get(a['AttributeId']) ?? [];
      list.push(text);
      values.set(a['AttributeId'], list);
    }
    return { id: entry['Id'], values };
  });
}

/** Parses the body of a 200 answer; throws `XacmlPdpResponseError` unless it holds exactly one result. */
export function parseXacmlResponse(text: string, url: string): XacmlResult {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new XacmlPdpResponseError(url, 200, 'the body is not JSON');
  }
  const results = isObject(body) ? body['Response'] : undefined;
  if (!Array.isArray(results) || results.length !== 1 || !isObject(results[0])) throw new XacmlPdpResponseError(url, 200, 'not a JSON Profile response with one result');
  const result = results[0];
  const decision = result['Decision'];
  if (typeof decision !== 'string') throw new XacmlPdpResponseError(url, 200, 'the result has no Decision');
  const status = isObject(result['Status'])
    ? [isObject(result['Status']['StatusCode']) ? result['Status']['StatusCode']['Value'] : undefined, result['Status']['StatusMessage']].filter((s) => typeof s === 'string').join(': ')
    : '';
  return { decision, status, obligations: pepActions(result['Obligations'], url), advice: pepActions(result['AssociatedAdvice'], url) };
}
