/** Safe YAML parsing with source positions: the first stage of the compiler pipeline. */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import { diagnostic, type Diagnostic } from './diagnostics.js';
import { isWellFormed } from './unicode.js';

/** Largest policy file read, in bytes. */
export const MAX_POLICY_BYTES = 1024 * 1024;
/** Most alias dereferences allowed while building the data (stops alias bombs). */
export const MAX_ALIAS_COUNT = 100;

/** A parsed policy document: its data and a way to find where any path of it stands. */
export interface SourceDocument {
  file: string;
  data: unknown;
  /** Position of the value at `path` (or of the nearest ancestor that exists). */
  locate(path: readonly (string | number)[]): { line: number; column: number };
  /** Position of the key of the entry at `path` (falls back to the value). */
  locateKey(path: readonly (string | number)[]): { line: number; column: number };
}

/** Parses policy YAML (or JSON) text; returns the document or the diagnostics that stopped it. */
export function parseSource(
  text: string,
  file: string,
): { document?: SourceDocument; diagnostics: Diagnostic[] } {
  const at = (line = 1, column = 1, path: (string | number)[] = []) => ({ file, line, column, path });
  if (Buffer.byteLength(text, 'utf8') > MAX_POLICY_BYTES) {
    return {
      diagnostics: [
        diagnostic('file-too-large', `policy is larger than ${MAX_POLICY_BYTES} bytes`, at(), 'split the policy'),
      ],
    };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, version: '1.2' });
  const pos = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const diagnostics: Diagnostic[] = [];
  for (const error of doc.errors) {
    const { line, column } = pos(error.pos[0]);
    const code = error.code === 'DUPLICATE_KEY' ? 'yaml-duplicate-key' : 'yaml-syntax';
    diagnostics.push(diagnostic(code, firstLine(error.message), at(line, column)));
  }
  for (const warning of doc.warnings) {
    const { line, column } = pos(warning.pos[0]);
    const code = warning.code === 'TAG_RESOLVE_FAILED' ? 'yaml-tag' : 'yaml-syntax';
    diagnostics.push(diagnostic(code, firstLine(warning.message), at(line, column)));
  }
  if (diagnostics.length > 0) return { diagnostics };

  visit(doc, {
    Pair(_key, pair) {
      const key = pair.key;
      if (!isScalar(key) || typeof key.value !== 'string') {
        const offset = (key as Node | null)?.range?.[0] ?? 0;
        const { line, column } = pos(offset);
        const shown = isScalar(key) ? String(key.value) : 'a collection';
        diagnostics.push(
          diagnostic('yaml-non-string-key', `mapping key ${shown} is not a string`, at(line, column), 'quote the key'),
        );
      }
    },
    Scalar(_key, scalar) {
      if (scalar.tag && !isCoreTag(scalar.tag)) {
        const { line, column } = pos(scalar.range?.[0] ?? 0);
        diagnostics.push(diagnostic('yaml-tag', `tag ${scalar.tag} is not allowed in a policy`, at(line, column)));
      }
    },
  });
  if (diagnostics.length > 0) return { diagnostics };

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    return {
      diagnostics: [
        diagnostic(
          'yaml-alias-limit',
          `aliases expand too much (more than ${MAX_ALIAS_COUNT} references): ${firstLine(String((error as Error).message))}`,
          at(),
        ),
      ],
    };
  }
  const illFormed = findIllFormedString(data, []);
  if (illFormed) {
    const { line, column } = pos(nodeAt(doc, illFormed)?.range?.[0] ?? 0);
    return {
      diagnostics: [diagnostic('invalid-value', 'string is not valid Unicode (a lone UTF-16 surrogate)', at(line, column, illFormed), 'remove the \\uD800-\\uDFFF escape')],
    };
  }
  const document: SourceDocument = {
    file,
    data,
    locate: (path) => pos(nodeAt(doc, path)?.range?.[0] ?? 0),
    locateKey: (path) => pos(keyAt(doc, path)?.range?.[0] ?? nodeAt(doc, path)?.range?.[0] ?? 0),
  };
  return { document, diagnostics };
}

/** Path of the first string (key or value) that is not well-formed UTF-16, if any. */
function findIllFormedString(value: unknown, path: (string | number)[]): (string | number)[] | undefined {
  if (typeof value === 'string') return isWellFormed(value) ? undefined : path;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findIllFormedString(value[i], [...path, i]);
      if (found) return found;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (!isWellFormed(key)) return [...path, key];
      const found = findIllFormedString(child, [...path, key]);
      if (found) return found;
    }
  }
  return undefined;
}

function isCoreTag(tag: string): boolean {
  return /^tag:yaml\.org,2002:(str|int|float|bool|null|map|seq)$/.test(tag);
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

/** Deepest node on `path` that exists. */
function nodeAt(doc: Document, path: readonly (string | number)[]): Node | null {
  let node = doc.contents as Node | null;
  if (!node) return null;
  for (const segment of path) {
    const child = childOf(node, segment);
    if (!child) break;
    node = child;
  }
  return node;
}

function keyAt(doc: Document, path: readonly (string | number)[]): Node | undefined {
  if (path.length === 0) return undefined;
  const parent = nodeAt(doc, path.slice(0, -1));
  if (!parent) return undefined;
  const last = path[path.length - 1];
  if (isMap(parent)) {
    const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === last);
    return (pair?.key as Node | undefined) ?? undefined;
  }
  return undefined;
}

function childOf(node: Node, segment: string | number): Node | undefined {
  if (isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
    return (pair?.value as Node | null | undefined) ?? (pair?.key as Node | undefined) ?? undefined;
  }
  if (isSeq(node) && typeof segment === 'number') {
    return (node.items[segment] as Node | undefined) ?? undefined;
  }
  return undefined;
}
