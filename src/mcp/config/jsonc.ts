/** JSON and JSONC read into a tree with offsets, so every finding can name its line and column. */
import { parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';

/** A parsed document: the tree (absent when the text is not JSON at all) and its syntax errors. */
export interface ParsedDocument {
  root: Node | undefined;
  errors: { offset: number; message: string }[];
  position(offset: number): { line: number; column: number };
}

/** Parses JSON text; comments and trailing commas are accepted only when `jsonc` is set. */
export function parseDocument(text: string, jsonc: boolean): ParsedDocument {
  const raw: ParseError[] = [];
  const root = parseTree(text, raw, { disallowComments: !jsonc, allowTrailingComma: jsonc, allowEmptyContent: false });
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  const position = (offset: number) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - (starts[lo] as number) + 1 };
  };
  const errors = raw.map((e) => ({ offset: e.offset, message: describe(printParseErrorCode(e.error)) }));
  return { root, errors, position };
}

const DESCRIPTIONS: Record<string, string> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'invalid number',
  PropertyNameExpected: 'a property name is expected',
  ValueExpected: 'a value is expected',
  ColonExpected: "':' is expected",
  CommaExpected: "',' is expected",
  CloseBraceExpected: "'}' is expected",
  CloseBracketExpected: "']' is expected",
  EndOfFileExpected: 'end of file is expected',
  InvalidCommentToken: 'comments are not allowed in this format',
  UnexpectedEndOfComment: 'unterminated comment',
  UnexpectedEndOfString: 'unterminated string',
  UnexpectedEndOfNumber: 'unterminated number',
  InvalidUnicode: 'invalid unicode escape',
  InvalidEscapeCharacter: 'invalid escape character',
  InvalidCharacter: 'invalid character',
};

function describe(code: string): string {
  return DESCRIPTIONS[code] ?? code;
}

/** The value node of property `key` of an object node, if present. */
export function property(node: Node | undefined, key: string): Node | undefined {
  if (node?.type !== 'object') return undefined;
  for (const p of node.children ?? []) {
    const [k, v] = p.children ?? [];
    if (k?.value === key) return v;
  }
  return undefined;
}

/** The `[key node, value node]` pairs of an object node, in order. */
export function entries(node: Node | undefined): [Node, Node][] {
  if (node?.type !== 'object') return [];
  const out: [Node, Node][] = [];
  for (const p of node.children ?? []) {
    const [k, v] = p.children ?? [];
    if (k && v) out.push([k, v]);
  }
  return out;
}

export type { Node };
