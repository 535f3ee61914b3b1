/** Provenance by origin: labels each argument of a call by where its value occurs (user prompt, system input, a tool's output, nowhere). */
import type { ActionIR, JsonObject, JsonValue, ProvenanceLabel } from '../compiler/ir.js';
import { InputError } from './errors.js';
import { Labeled, isTrusted, lowest } from './provenance.js';

/** The reserved place names of trusted inputs; every other place is a tool's action id. */
export const TRUSTED_PLACES = ['user', 'system'] as const;

/** Options of an `OriginTracker`. */
export interface OriginOptions {
  /**
   * Strings shorter than this (in code points, after normalization) are never attributed to a
   * place: they are labeled `model` (default 3). Short values ("ok", "1") occur everywhere by chance.
   */
  minLength?: number;
  /**
   * The deployer's data (its own addresses, accounts, contacts...), recorded as the `system` input
   * of every session's tracker when the tracker is created: a new or renewed session has it too.
   * Read once (when the runtime is created); each session starts from that record.
   */
  system?: unknown;
}

/** Where one value occurs: its label (the least trusted place) and every place it was found in. */
export interface ValueOrigin {
  label: ProvenanceLabel;
  /** `user`, `system` and the action ids of the tools whose output holds the value, in the order first recorded. */
  sources: string[];
}

/** The origin of every parameter path of a call (dotted paths, as `unwrap` gives them). */
export interface OriginLabels {
  labels: Record<string, ProvenanceLabel>;
  sources: Record<string, string[]>;
}

/** The session facts of origin tracking, as `context.session.*`. */
export interface OriginFacts {
  /** The action ids of the tools whose output was read in the session (`true` each). */
  tools_read: Record<string, true>;
  /** Whether any untrusted (`external`) tool output was read in the session. */
  external_read: boolean;
}

/** Everything recorded for one place. */
interface Place {
  name: string;
  label: ProvenanceLabel;
  /** Normalized string leaves, separated by NUL (a boundary no normalized value contains). */
  text: string;
  /** Every number the place holds: numeric leaves and numeric tokens of its strings. */
  numbers: Set<number>;
  /** The strings already recorded, as given (the same prompt or output recorded again adds nothing and is not normalized again). */
  seen: Set<string>;
}

const MAX_DEPTH = 64;
const NONE: ReadonlySet<string> = new Set();
const NUMBER_TOKEN = /(?<![\p{L}\p{N}.])-?\p{Nd}+(?:\.\p{Nd}+)?(?![\p{L}\p{N}]|\.\p{Nd})/gu;
const WORD = /[\p{L}\p{N}]/u;
const ASCII = /^[\x00-\x7f]*$/;
/** Identifier-like tokens inside free text: URLs and domains, email addresses, codes of 6+ characters with a digit. */
const IDENTIFIER = /(?:[a-z][a-z0-9+.-]*:\/\/)?[\p{L}\p{N}_%+-]+(?:@[\p{L}\p{N}-]+)?(?:\.[\p{L}\p{N}-]+)+(?:\/[^\s]*)?|(?=[\p{L}\p{N}]*\p{N})[\p{L}\p{N}]{6,}/gu;

/**
 * The normal form values are compared in: Unicode NFKC, lower case, runs of white space as one
 * space, trimmed. So `Ｂob  SMITH` matches `bob smith`.
 */
export function normalizeForOrigin(text: string): string {
  return foldComposed(composed(text));
}

/** Unicode NFKC of a text (ASCII is left as it is: NFKC does not change it, and outputs are mostly ASCII and large). */
function composed(text: string): string {
  return ASCII.test(text) ? text : text.normalize('NFKC');
}

/** The rest of `normalizeForOrigin` on NFKC text: lower case, white space runs as one space, trimmed. */
function foldComposed(text: string): string {
  return text.toLowerCase().replace(/\s+/gu, ' ').trim();
}

/** Whether `needle` occurs in `haystack` as whole tokens (no letter or digit glued on either side). */
function occursAsToken(haystack: string, needle: string): boolean {
  const first = WORD.test(needle.charAt(0));
  const last = WORD.test(needle.slice(-1));
  let from = 0;
  for (;;) {
    const at = haystack.indexOf(needle, from);
    if (at < 0) return false;
    const before = at > 0 ? haystack.charAt(at - 1) : '';
    const after = haystack.charAt(at + needle.length);
    if ((!first || before === '' || !WORD.test(before)) && (!last || after === '' || !WORD.test(after))) return true;
    from = at + 1;
  }
}

/**
 * Records the trusted inputs and every tool output of a session, and labels each argument of a
 * later call by where its value occurs. Matching rules (docs/provenance.md):
 * - strings are compared in `normalizeForOrigin` form and must occur as whole tokens of a recorded
 *   string (no letter or digit glued on either side); shorter than `minLength` never matches;
 * - numbers must equal a recorded number or a whole numeric token of a recorded string (`100`
 *   does not occur in `1000` nor in `100.5`);
 * - booleans and null never match (nothing tells who chose them);
 * - a string found nowhere as a whole that embeds identifiers (URLs, domains, email addresses,
 *   codes of 6+ characters with a digit) found in places takes their least trusted label, unless
 *   its parameter is declared as one identifier (`format: path`, `url`, `domain`, `email`, `ip`);
 * - a value found nowhere is labeled `model` (written by the model); found in several places it
 *   takes the least trusted of their labels (`user`, `system`, or the tool's trust, `external` by
 *   default), and its sources list every place; a container takes the least trusted label of its
 *   leaves (`model` when empty), and is found only in the places where every leaf is found.
 * Recorded values are copied into the tracker's own normal form when recorded; nothing is read twice.
 */
export class OriginTracker {
  readonly #minLength: number;
  readonly #places = new Map<string, Place>();

  constructor(options: OriginOptions = {}) {
    const minLength = options.minLength ?? 3;
    if (!Number.isInteger(minLength) || minLength < 1) throw new InputError('origin options', '/minLength', 'must be a positive integer');
    this.#minLength = minLength;
    if (options.system !== undefined) this.recordInput('system', options.system);
  }

  /** A new tracker holding what this one recorded so far (recording into either leaves the other as it is). */
  fork(): OriginTracker {
    const copy = new OriginTracker({ minLength: this.#minLength });
    for (const [name, p] of this.#places) copy.#places.set(name, { name: p.name, label: p.label, text: p.text, numbers: new Set(p.numbers), seen: new Set(p.seen) });
    return copy;
  }

  /** Records a trusted input: the user's prompt (`user`) or system configuration (`system`). */
  recordInput(place: 'user' | 'system', value: unknown): void {
    if (place !== 'user' && place !== 'system') throw new InputError('origin input', '', `place must be 'user' or 'system', not '${String(place)}'`);
    this.#add(place, place, value);
  }

  /**
   * Records a tool's output under the tool's action id, with the label its content gets
   * (`external` unless the tool is a declared trusted source).
   */
  recordOutput(action: string, value: unknown, label: ProvenanceLabel = 'external'): void {
    if (typeof action !== 'string' || action.length === 0) throw new InputError('origin output', '', 'needs the action id of the tool');
    if ((TRUSTED_PLACES as readonly string[]).includes(action)) throw new InputError('origin output', '', `'${action}' is a reserved place name; a tool's output cannot be recorded under it`);
    this.#add(action, label, value instanceof Labeled ? value.value : value);
  }

  /** The places recorded so far. */
  get places(): readonly string[] {
    return [...this.#places.keys()];
  }

  /** The session facts: which tools' outputs were read, and whether any was untrusted. */
  facts(): OriginFacts {
    const tools: Record<string, true> = {};
    let external = false;
    for (const place of this.#places.values()) {
      if ((TRUSTED_PLACES as readonly string[]).includes(place.name)) continue;
      tools[place.name] = true;
      if (place.label === 'external') external = true;
    }
    return { tools_read: tools, external_read: external };
  }

  /**
   * Where one scalar value occurs. `single`: the value is one identifier by its declared kind (a
   * path, URL, host, email or IP): it occurs whole or is the model's, never scanned for identifiers inside.
   */
  originOf(value: JsonValue, single = false): ValueOrigin {
    const sources: string[] = [];
    if (typeof value === 'string') {
      const needle = normalizeForOrigin(value);
      if ([...needle].length >= this.#minLength && !needle.includes('\u0000')) {
        for (const place of this.#places.values()) if (occursAsToken(place.text, needle)) sources.push(place.name);
      }
      // Text found nowhere as a whole may still carry identifiers copied from an output; a value
      // declared as one identifier (a path, a URL...) either occurs whole or is the model's.
      if (sources.length === 0 && !single) return this.#embedded(needle);
    } else if (typeof value === 'number' && Number.isFinite(value)) {
      for (const place of this.#places.values()) if (place.numbers.has(value)) sources.push(place.name);
    }
    if (sources.length === 0) return { label: 'model', sources };
    let label: ProvenanceLabel = 'system';
    for (const name of sources) label = lowest(label, (this.#places.get(name) as Place).label);
    return { label, sources };
  }

  /**
   * Text found nowhere as a whole (the model wrote it) that embeds identifiers (URLs, domains,
   * email addresses, long codes with digits such as IBANs or phone numbers) takes the least trusted
   * label of the places those identifiers occur in: a message that carries a link copied from a web
   * page is as untrusted as the page. It has no sources (it was not found as a whole anywhere).
   */
  #embedded(text: string): ValueOrigin {
    let label: ProvenanceLabel = 'model';
    for (const m of text.matchAll(IDENTIFIER)) {
      const token = m[0].replace(/[.,;:!?)\]'"]+$/u, '');
      if ([...token].length < Math.max(this.#minLength, 6)) continue;
      for (const place of this.#places.values()) if (occursAsToken(place.text, token)) label = lowest(label, place.label);
    }
    return { label, sources: [] };
  }

  /**
   * The origin of every path of a call's parameters (containers: the least trusted leaf; empty:
   * `model`). `single`: parameter paths declared as one identifier (see `originOf`).
   */
  label(params: JsonObject, single: ReadonlySet<string> = NONE): OriginLabels {
    const labels: Record<string, ProvenanceLabel> = {};
    const sources: Record<string, string[]> = {};
    const walk = (node: JsonValue, path: string, depth: number): ProvenanceLabel => {
      if (depth > MAX_DEPTH) throw new InputError('params', `/${path.replaceAll('.', '/')}`, `nests deeper than ${MAX_DEPTH} levels`);
      let label: ProvenanceLabel;
      if (node !== null && typeof node === 'object') {
        const entries = Array.isArray(node) ? node.map((v, i) => [String(i), v] as const) : Object.entries(node);
        label = entries.length === 0 ? 'model' : 'system';
        // A container is found in a place only when every leaf is (a list mixing a name the user gave
        // with one only a web page gave is not "from the user").
        let found: string[] | undefined;
        for (const [key, child] of entries) {
          const childPath = path ? `${path}.${key}` : key;
          label = lowest(label, walk(child, childPath, depth + 1));
          const mine = sources[childPath] ?? [];
          found = found === undefined ? [...mine] : found.filter((s) => mine.includes(s));
        }
        if (path) sources[path] = found ?? [];
      } else {
        const origin = this.originOf(node, single.size > 0 && (single.has(path) || single.has(path.replace(/\.\d+$/u, ''))));
        label = origin.label;
        if (path) sources[path] = origin.sources;
      }
      if (path) labels[path] = label;
      return label;
    };
    walk(params, '', 0);
    return { labels, sources };
  }

  #add(name: string, label: ProvenanceLabel, value: unknown): void {
    let place = this.#places.get(name);
    if (!place) {
      place = { name, label, text: '', numbers: new Set(), seen: new Set() };
      this.#places.set(name, place);
    } else {
      place.label = lowest(place.label, label);
    }
    const texts: string[] = [];
    const target = place;
    const seen = new Set<object>();
    const visit = (node: unknown, depth: number): void => {
      if (typeof node === 'string') {
        if (target.seen.has(node)) return;
        target.seen.add(node);
        // One NFKC pass serves the text and its numeric tokens.
        const nfkc = composed(node);
        texts.push(foldComposed(nfkc));
        for (const m of nfkc.matchAll(NUMBER_TOKEN)) target.numbers.add(Number(m[0]));
      } else if (typeof node === 'number') {
        if (Number.isFinite(node)) target.numbers.add(node);
      } else if (typeof node === 'bigint') {
        texts.push(node.toString());
      } else if (node !== null && typeof node === 'object' && depth < MAX_DEPTH && !seen.has(node)) {
        seen.add(node);
        if (node instanceof Labeled) return visit(node.value, depth + 1);
        if (node instanceof Date) return visit(Number.isNaN(node.getTime()) ? '' : node.toISOString(), depth + 1);
        if (Array.isArray(node)) {
          for (const item of node) visit(item, depth + 1);
          return;
        }
        for (const [key, child] of Object.entries(node)) {
          visit(key, depth + 1);
          visit(child, depth + 1);
        }
      }
    };
    visit(value, 0);
    if (texts.length > 0) place.text += (place.text ? '\u0000' : '') + texts.join('\u0000');
  }
}

const identifierPathsCache = new WeakMap<ActionIR, ReadonlySet<string>>();

/**
 * The parameter paths an action declares as one identifier (`format: path`, `url`, `domain`,
 * `email`, `ip`): `OriginTracker.label`'s `single`. Computed once per action definition.
 */
export function identifierPaths(definition: ActionIR | undefined): ReadonlySet<string> | undefined {
  if (!definition) return undefined;
  let paths = identifierPathsCache.get(definition);
  if (!paths) identifierPathsCache.set(definition, (paths = new Set(definition.kinds.map((k) => k.path))));
  return paths;
}

/** Bounds of an `OriginRegistry`. */
export interface OriginRegistryLimits {
  /** At most this many sessions are tracked; the least recently used is dropped beyond (default 10,000). */
  maxSessions?: number;
  /** A tracker unused for this long is dropped (default: never; the runtime passes its session lifetime). */
  idleMs?: number;
  /** Clock in epoch milliseconds. */
  now?: () => number;
}

/**
 * The origin trackers of a runtime's sessions, in this process (a run lives in one process, so its
 * session's tool outputs are seen here). A tracker is dropped when its session is revoked, when it
 * was not used for `idleMs`, or when it is the least recently used beyond `maxSessions`: a dropped
 * session starts again from the deployer's data alone (the `system` option), which only lowers labels.
 */
export class OriginRegistry {
  /** What every session's tracker starts from (the `system` option recorded once). */
  readonly #base: OriginTracker;
  /** In order of last use (least recent first). */
  readonly #trackers = new Map<string, { tracker: OriginTracker; used: number }>();
  readonly #maxSessions: number;
  readonly #idleMs: number;
  readonly #now: () => number;

  constructor(options: OriginOptions = {}, limits: OriginRegistryLimits = {}) {
    // Validates the options and records the deployer's data, once.
    this.#base = new OriginTracker(options);
    this.#maxSessions = limits.maxSessions ?? 10_000;
    this.#idleMs = limits.idleMs ?? Number.POSITIVE_INFINITY;
    this.#now = limits.now ?? Date.now;
  }

  /** The tracker of a session (created on first use). */
  of(session: string): OriginTracker {
    const now = this.#now();
    const entry = this.#trackers.get(session);
    if (entry) this.#trackers.delete(session);
    const tracker = entry?.tracker ?? this.#base.fork();
    this.#trackers.set(session, { tracker, used: now });
    for (const [id, e] of this.#trackers) {
      if (this.#trackers.size <= this.#maxSessions && now - e.used <= this.#idleMs) break;
      this.#trackers.delete(id);
    }
    return tracker;
  }

  /** How many sessions are tracked. */
  get size(): number {
    return this.#trackers.size;
  }

  /** Forgets a session's tracker. */
  drop(session: string): void {
    this.#trackers.delete(session);
  }
}

/**
 * The labels of a call's parameters by origin: explicitly labeled paths keep their label; every
 * other path gets the label of where its value occurs, capped by `cap` when that is untrusted (a
 * plan from an untrusted source); containers take their lowest leaf.
 * @internal
 */
export function labelByOrigin(
  origins: OriginTracker,
  params: JsonObject,
  labels: Readonly<Record<string, ProvenanceLabel>>,
  explicit: ReadonlySet<string> | 'all',
  cap: ProvenanceLabel,
  single?: ReadonlySet<string>,
): OriginLabels {
  const found = origins.label(params, single);
  if (explicit === 'all') return { labels: { ...labels }, sources: found.sources };
  const capped = !isTrusted(cap);
  // The common case (no wrapper, a trusted plan source): the origin labels stand as they are.
  if (explicit.size === 0 && !capped) return found;
  const out: Record<string, ProvenanceLabel> = {};
  const leafLabel = (path: string): ProvenanceLabel => {
    if (explicit.has(path)) return labels[path] as ProvenanceLabel;
    const l = found.labels[path] ?? 'model';
    return capped ? lowest(l, cap) : l;
  };
  const walk = (node: JsonValue, path: string): ProvenanceLabel => {
    let l: ProvenanceLabel;
    if (node !== null && typeof node === 'object' && !explicit.has(path)) {
      const entries = Array.isArray(node) ? node.map((v, i) => [String(i), v] as const) : Object.entries(node);
      l = entries.length === 0 ? leafLabel(path) : 'system';
      for (const [k, v] of entries) l = lowest(l, walk(v, path ? `${path}.${k}` : k));
    } else {
      l = leafLabel(path);
      // An explicitly labeled container: its inner paths keep the wrapper's labels.
      if (node !== null && typeof node === 'object') for (const key of Object.keys(labels)) if (key.startsWith(`${path}.`)) out[key] = labels[key] as ProvenanceLabel;
    }
    if (path) out[path] = l;
    return l;
  };
  walk(params, '');
  return { labels: out, sources: found.sources };
}
