/** The user's own words from a framework's conversation, recorded for provenance by origin. */
import type { Ape } from '../../agent/index.js';

/**
 * Records each text as the user's words (`ape.recordInput('user', …)`) when the Ape labels arguments
 * by origin; does nothing otherwise. The same text recorded again adds nothing.
 */
export async function recordUserWords(ape: Ape, texts: readonly string[]): Promise<void> {
  if (!ape.runtime.tracksOrigins || texts.length === 0) return;
  // One record of the whole list: each text is a leaf; texts recorded before are skipped by the tracker.
  await ape.recordInput('user', texts);
}

/** The text of a message content: a string, or the `text` of its text parts. */
export function contentTexts(content: unknown): string[] {
  if (typeof content === 'string') return [content];
  if (!Array.isArray(content)) return [];
  const out: string[] = [];
  for (const part of content) {
    if (part !== null && typeof part === 'object' && (part as { type?: unknown }).type === 'text') {
      const text = (part as { text?: unknown }).text;
      if (typeof text === 'string') out.push(text);
    }
  }
  return out;
}
