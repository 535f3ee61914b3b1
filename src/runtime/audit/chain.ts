/** The hash chain of a JSONL audit log: each line carries seq, the previous line's hash and its own hash. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { canonicalJson } from '../../compiler/hash.js';
import type { JsonObject } from '../../compiler/ir.js';

/** The `prev` of the first line. */
export const GENESIS = `sha256:${'0'.repeat(64)}`;

/** The hash of a line's content (everything but `hash`, which includes `seq` and `prev`). */
export function lineHash(content: JsonObject): string {
  return `sha256:${createHash('sha256').update(canonicalJson(content)).digest('hex')}`;
}

/** The outcome of verifying a log. */
export type VerifyResult =
  | { ok: true; lines: number; head: string }
  | { ok: false; lines: number; line: number; reason: string };

/**
 * Verifies a hash-chained JSONL log: every line parses, `seq` counts up from 0, `prev` is the
 * previous line's hash and `hash` matches the content. A deleted, edited, inserted or reordered line
 * breaks the chain. Truncation at the end is caught only against a known head (`expectHead`).
 */
export function verifyChain(text: string, expectHead?: string): VerifyResult {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let prev = GENESIS;
  for (const [i, raw] of lines.entries()) {
    const fail = (reason: string): VerifyResult => ({ ok: false, lines: lines.length, line: i + 1, reason });
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return fail('not valid JSON');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return fail('not a JSON object');
    const { hash, ...content } = parsed as JsonObject;
    if (content['seq'] !== i) return fail(`seq is ${JSON.stringify(content['seq'])}, expected ${i} (a line was deleted, inserted or moved)`);
    if (content['prev'] !== prev) return fail('prev does not match the previous line (a line was deleted, inserted or moved)');
    if (hash !== lineHash(content)) return fail('hash does not match the content (the line was edited)');
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
