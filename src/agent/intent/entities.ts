/** Extracts what is plain in a prompt (quoted text, URLs, emails, paths, file names, channels, numbers) and masks it out of the words. */

/** Kinds of values a prompt can carry. */
export type EntityKind = 'quoted' | 'code' | 'url' | 'email' | 'path' | 'file' | 'channel' | 'number';

/** One value found in a prompt, with where it stands. */
export interface Entity {
  kind: EntityKind;
  value: string;
  start: number;
  end: number;
  /** The word right before the value (`subject` in `subject 'Q3'`), lower case. */
  before?: string;
}

/** File extensions that make a bare word a file name (`notes.md`), never a domain (`example.com`). */
const FILE_EXTENSIONS = new Set(
  'md markdown txt text json jsonl yaml yml toml ini cfg conf config csv tsv log logs js mjs cjs ts tsx jsx py rb go rs java kt c h cpp hpp cs php sh bash zsh ps1 sql db sqlite html htm css scss xml svg pdf doc docx xls xlsx ppt pptx png jpg jpeg gif webp zip tar gz tgz bz2 tmp temp bak old env pem key crt lock out err dat bin rst tex ipynb'.split(' '),
);

/** Top-level domains: `example.com` is a host, not a file. */
const TLDS = new Set('com org net io dev ai co uk de fr gov edu app cloud info biz us eu me tv xyz site online tech ly gg sh'.split(' '));

interface Pattern {
  kind: EntityKind;
  re: RegExp;
  /** Capture group holding the value (default 0). */
  group?: number;
}

// Order matters: earlier patterns claim their span first.
const PATTERNS: Pattern[] = [
  { kind: 'code', re: /```[a-zA-Z0-9_-]*\n?([\s\S]*?)```/g, group: 1 },
  { kind: 'code', re: /`([^`\n]+)`/g, group: 1 },
  // One pattern for every quote style, so the quote that opens first wins ('{"ok": true}' is one value).
  { kind: 'quoted', re: /"([^"\n]*)"|\u201c([^\u201d\n]*)\u201d|(?<![\w])'([^'\n]+)'(?![\w])|\u2018([^\u2019\n]+)\u2019/g, group: -1 },
  { kind: 'url', re: /\b(?:https?|ftp):\/\/[^\s"'`<>]+[^\s"'`<>.,;:!?)\]]/gi },
  { kind: 'email', re: /\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b/g },
  { kind: 'path', re: /(?<![\w@/.])(?:~|\.{1,2})?\/(?:[\w.@+-]+\/?)*[\w.@+-]*/g },
  { kind: 'path', re: /(?<![\w@/.])[\w.-]+\/(?:[\w.@+-]+\/?)*[\w.@+-]*/g },
  { kind: 'file', re: /(?<![\w@/.-])\.?[\w-]+(?:\.[\w-]+)*\.([A-Za-z0-9]{1,8})(?![\w@/-])/g },
  { kind: 'file', re: /(?<![\w@/.-])\.(?:env|gitignore|npmrc|bashrc|profile)(?![\w@/-])/g },
  { kind: 'channel', re: /(?<![\w&])#([A-Za-z][\w-]*)/g, group: 1 },
  { kind: 'number', re: /(?<![\w.])\d+(?:\.\d+)?(?![\w.])/g },
];

/** The values of a prompt, and the prompt with each value replaced by spaces (so its words never read as verbs). */
export function extractEntities(prompt: string): { entities: Entity[]; masked: string } {
  const taken: boolean[] = new Array<boolean>(prompt.length).fill(false);
  const entities: Entity[] = [];
  for (const p of PATTERNS) {
    p.re.lastIndex = 0;
    for (let m = p.re.exec(prompt); m !== null; m = p.re.exec(prompt)) {
      const start = m.index;
      const end = start + m[0].length;
      if (m[0].length === 0) {
        p.re.lastIndex++;
        continue;
      }
      let free = true;
      for (let i = start; i < end; i++) if (taken[i]) free = false;
      if (!free) continue;
      let value = p.group === -1 ? (m.slice(1).find((g) => g !== undefined) ?? '') : p.group !== undefined ? (m[p.group] ?? '') : m[0];
      if (p.kind === 'file') {
        const ext = (m[1] ?? '').toLowerCase();
        if (!m[0].startsWith('.') && !FILE_EXTENSIONS.has(ext) && (TLDS.has(ext) || !/^[a-z][a-z0-9]*$/.test(ext))) continue;
        if (!m[1]) value = m[0];
      }
      if (p.kind === 'path') {
        value = value.replace(/[.,;:!?)]+$/, '');
        if (value === '/' || value.length === 0) continue;
        if (!value.startsWith('/') && !value.startsWith('.') && !value.startsWith('~') && !value.includes('/')) continue;
      }
      for (let i = start; i < end; i++) taken[i] = true;
      const before = /([A-Za-z]+)\W*$/.exec(prompt.slice(Math.max(0, start - 40), start))?.[1]?.toLowerCase();
      entities.push(before === undefined ? { kind: p.kind, value, start, end } : { kind: p.kind, value, start, end, before });
    }
  }
  entities.sort((a, b) => a.start - b.start);
  let masked = '';
  for (let i = 0; i < prompt.length; i++) masked += taken[i] ? ' ' : (prompt[i] as string);
  return { entities, masked };
}
