/** The hash chain of a JSONL audit log: each line carries seq, the previous line's hash and its own hash over the line's exact bytes. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { JsonObject } from '../../compiler/ir.js';

/** The `prev` of the first line. */
export const GENESIS = `sha256:${'0'.repeat(64)}`;

/** The hash of a line's body: the exact UTF-8 bytes of the JSON text of everything but `hash` (which includes `seq` and `prev`). */
export function lineHash(body: string): string {
  return `sha256:${createHash('sha256').update(body, 'utf8').digest('hex')}`;
}

/** The line for a content object: its JSON text with `"hash"` appended as the last member, hashed over the text before it. */
export function chainLine(content: JsonObject): { line: string; hash: string } {
  const body = JSON.stringify(content);
  const hash = lineHash(body);
  return { line: `${body.slice(0, -1)},"hash":"${hash}"}`, hash };
}

const HASH_SUFFIX = /,"hash":"(sha256:[0-9a-f]{64})"\}$/;

/** The outcome of verifying a log. */
export type VerifyResult =
  | { ok: true; lines: number; head: string }
  | { ok: false; lines: number; line: number; reason: string };

/**
 * Verifies a hash-chained JSONL log: every line ends with its `"hash"` member, that hash is the
 * SHA-256 of the exact bytes before it (closed with `}`), the body parses, `seq` counts up from 0 and
 * `prev` is the previous line's hash. Any byte changed, a duplicate key added, a line deleted,
 * inserted or reordered breaks the chain. Truncation at the end is caught only against a known head
 * (`expectHead`).
 */
export function verifyChain(text: string, expectHead?: string): VerifyResult {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let prev = GENESIS;
  for (const [i, raw] of lines.entries()) {
    const fail = (reason: string): VerifyResult => ({ ok: false, lines: lines.length, line: i + 1, reason });
    const match = HASH_SUFFIX.exec(raw);
    if (!match) return fail('no "hash" member at the end of the line (not a chained line)');
    const hash = match[1] as string;
    const body = `${raw.slice(0, match.index)}}`;
    if (hash !== lineHash(body)) return fail('hash does not match the line bytes (the line was edited)');
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return fail('not valid JSON');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return fail('not a JSON object');
    const content = parsed as JsonObject;
    if (content['seq'] !== i) return fail(`seq is ${JSON.stringify(content['seq'])}, expected ${i} (a line was deleted, inserted or moved)`);
    if (content['prev'] !== prev) return fail('prev does not match the previous line (a line was deleted, inserted or moved)');
    prev = hash;
  }
  if (expectHead !== undefined && prev !== expectHead) {
    return { ok: false, lines: lines.length, line: lines.length, reason: `head is ${prev}, expected ${expectHead} (lines were removed from the end)` };
  }
  return { ok: true, lines: lines.length, head: prev };
}

/** Verifies a log file. Throws the file system error when it cannot be read. */
export function verifyAuditFile(file: string, expectHead?: string): VerifyResult {
  return verifyChain(readFileSync(file, 'utf8'), expectHead);
}
