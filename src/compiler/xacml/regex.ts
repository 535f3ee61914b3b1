/** Regular expressions for XACML's `string-regexp-match` (XML Schema / XPath syntax), built only from escaped literals. */

const SPECIAL = new Set(['\\', '|', '.', '-', '^', '?', '*', '+', '{', '}', '(', ')', '[', ']', '$']);

/** A literal string as a regular expression that matches exactly it. */
export function regexLiteral(text: string): string {
  let out = '';
  for (const ch of text) out += SPECIAL.has(ch) ? `\\${ch}` : ch;
  return out;
}

/** A glob (`*` = any run of characters, newlines included; all else literal) as an anchored regular expression. */
export function globRegex(glob: string): string {
  return `^${glob
    .split('*')
    .map(regexLiteral)
    .join('[\\s\\S]*')}$`;
}

/** Characters a raw (not APE-canonicalized) value of a kind may not hold: controls of any kind. */
const CONTROL = '\\p{Cc}';
const LABEL = '[a-z0-9_\\-]+';
const HOST = `${LABEL}(\\.${LABEL})*`;

/**
 * What a raw value must match to be taken as already canonical, and what it must not match; values
 * outside this (conservative) subset of each kind's canonical forms count as missing or invalid.
 */
export const CANONICAL_FORMS: Record<'path' | 'domain' | 'url' | 'email' | 'ip', { match: string; reject: string[] }> = {
  path: { match: '^/', reject: ['//', '/\\.\\.?(/|$)', CONTROL] },
  domain: { match: `^${HOST}$`, reject: ['(^|\\.)xn\\-\\-', '(^|\\.)([0-9]+|0x[0-9a-f]*)$', '^.{254,}$'] },
  url: {
    match: `^https?://${HOST}/[A-Za-z0-9._~!$&'()*+,;=:@/\\-]*(\\?[A-Za-z0-9._~!$&()*+,;=:@/?\\-]*)?$`,
    reject: ['^https?://([^/]*\\.)?xn\\-\\-', '^https?://([^/]*\\.)?([0-9]+|0x[0-9a-f]*)(/|$)', '/\\.\\.?(/|\\?|$)', CONTROL],
  },
  email: { match: `^[^@\\s<>,;]+@${HOST}$`, reject: ['[@.]xn\\-\\-', '[@.]([0-9]+|0x[0-9a-f]*)$', '[\\p{Z}\\p{Cc}\\p{Cf}]'] },
  ip: { match: '^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$', reject: [] },
};
