/** The predicate library every emitted policy carries: one pair of small functions per predicate, written once. */
import type { Predicate } from './conditions.js';
import { RegoWriter, code, fixed, ident, type Code } from './writer.js';

/** A predicate's body lines: what holds for `v` against operand `x` (`xs` when a list). */
interface PredicateSpec {
  /** The argument name of the operand. */
  arg: 'x' | 'xs';
  /** Body of `_<name>`: the value is well typed and the predicate holds. */
  holds: string[];
  /** Body of `_not_<name>`: the value is well typed and the predicate fails. */
  fails: string[];
  /** Other predicates the bodies call. */
  uses?: Predicate[];
  doc: string;
}

/** Fixed library text, keyed by predicate: written by hand here, never from policy data. */
const PREDICATES: Record<Predicate, PredicateSpec> = {
  prefix: {
    arg: 'xs',
    holds: ['is_string(v)', 'some x in xs', 'startswith(v, x)'],
    fails: ['is_string(v)', 'not _prefix(k, xs)'],
    doc: 'it starts with one of xs',
  },
  suffix: {
    arg: 'xs',
    holds: ['is_string(v)', 'some x in xs', 'endswith(v, x)'],
    fails: ['is_string(v)', 'not _suffix(k, xs)'],
    doc: 'it ends with one of xs',
  },
  glob: {
    arg: 'xs',
    holds: ['is_string(v)', 'some x in xs', '_glob_match(v, x)'],
    fails: ['is_string(v)', 'not _glob(k, xs)'],
    doc: 'it matches one of the globs xs (compiled to parts, see _glob_match)',
  },
  outside: {
    arg: 'xs',
    holds: ['is_string(v)', 'not _glob(k, xs)'],
    fails: ['_glob(k, xs)'],
    uses: ['glob'],
    doc: 'it matches none of the globs xs',
  },
  equals: {
    arg: 'x',
    holds: ['v == x'],
    fails: ['type_name(v) == type_name(x)', 'v != x'],
    doc: 'equal to x (same type, no coercion)',
  },
  one_of: {
    arg: 'xs',
    holds: ['v in xs'],
    fails: ['type_name(v) in {type_name(x) | some x in xs}', 'not v in xs'],
    doc: 'one of xs (no coercion)',
  },
  min: {
    arg: 'x',
    holds: ['is_number(v)', 'v >= x'],
    fails: ['is_number(v)', 'v < x'],
    doc: 'at least x',
  },
  max: {
    arg: 'x',
    holds: ['is_number(v)', 'v <= x'],
    fails: ['is_number(v)', 'v > x'],
    doc: 'at most x',
  },
  regex: {
    arg: 'x',
    holds: ['is_string(v)', 'regex.match(x, v)'],
    fails: ['is_string(v)', 'not regex.match(x, v)'],
    doc: 'contains a match of the RE2 pattern x',
  },
  label: {
    arg: 'xs',
    holds: ['is_string(v)', 'v in xs'],
    fails: ['is_string(v)', 'not v in xs'],
    doc: 'one of the provenance labels xs',
  },
  source: {
    arg: 'xs',
    holds: ['_places(v)', 'some x in v', 'x in xs'],
    fails: ['_places(v)', 'not _source(k, xs)'],
    doc: 'a list of places (strings), one of them in xs',
  },
};

/** Helpers of the `source` predicate: the list-of-places type check and the text a reason names. */
const PLACES: readonly (readonly string[])[] = [
  ['# _places(v): v is a list of places (strings).'],
  ['_places(v) if {', '\tis_array(v)', '\tevery x in v {', '\t\tis_string(x)', '\t}', '}'],
  ['# _places_text(v): where a value was found, for a reason: "in a, b", or "nowhere" for an empty list.'],
  ['_places_text(v) := "nowhere" if {', '\tcount(v) == 0', '} else := concat("", ["in ", concat(", ", v)])'],
];

function writeFunction(w: RegoWriter, name: Code, arg: string, body: readonly string[]): void {
  w.block(code`${name}(k, ${fixed(arg)}) if {`, () => {
    if (body.some((line) => /\bv\b/.test(line))) w.line(fixed('v := _facts[k]'));
    for (const line of body) w.line(fixed(line));
  });
}

/** The glob matcher: `*` is any run of characters; the parts between stars must appear in order. */
const GLOB_MATCH: readonly (readonly string[])[] = [
  ['_glob_match(v, x) if v == x.equals'],
  ['_glob_match(v, x) if regex.match(x.regex, v)'],
  ['_glob_match(v, x) if {', '\tcount(x.middle) == 0', '\t_glob_ends(v, x)', '}'],
  ['_glob_match(v, x) if {', '\tcount(x.middle) == 1', '\t_glob_ends(v, x)', '\tcontains(_glob_inner(v, x), x.middle[0])', '}'],
  [
    '_glob_match(v, x) if {',
    '\tcount(x.middle) == 2',
    '\t_glob_ends(v, x)',
    '\tinner := _glob_inner(v, x)',
    '\ti := indexof(inner, x.middle[0])',
    '\ti >= 0',
    '\tcontains(substring(inner, i + count(x.middle[0]), -1), x.middle[1])',
    '}',
  ],
  ['_glob_ends(v, x) if {', '\tstartswith(v, x.prefix)', '\tendswith(v, x.suffix)', '\tcount(v) >= count(x.prefix) + count(x.suffix)', '}'],
  ['_glob_inner(v, x) := substring(v, count(x.prefix), (count(v) - count(x.prefix)) - count(x.suffix))'],
];

function writeGlobMatch(w: RegoWriter): void {
  w.comment('_glob_match(v, x): v matches the glob x, given as {"equals"}, {"prefix", "suffix", "middle"} or {"regex"}.');
  for (const definition of GLOB_MATCH) {
    for (const line of definition) w.line(fixed(line));
    w.line();
  }
}

/** Writes the library functions the given predicates need (plus `_present` when asked), in a fixed order. */
export function writeLibrary(w: RegoWriter, used: ReadonlySet<Predicate>, presence: boolean): void {
  const all = new Set<Predicate>(used);
  for (const p of used) for (const dep of PREDICATES[p].uses ?? []) all.add(dep);
  if (presence) {
    w.comment('_present(k): the fact k is present, whatever its value.');
    w.block(fixed('_present(k) if {'), () => w.line(fixed('_ = _facts[k]')));
    w.line();
  }
  if (all.has('glob')) writeGlobMatch(w);
  if (all.has('source')) {
    for (const [i, definition] of PLACES.entries()) {
      for (const line of definition) w.line(fixed(line));
      if (i % 2 === 1) w.line();
    }
  }
  for (const name of Object.keys(PREDICATES) as Predicate[]) {
    if (!all.has(name)) continue;
    const spec = PREDICATES[name];
    w.comment(`_${name}(k, ${spec.arg}): the fact k is well typed and ${spec.doc}; _not_${name}(k, ${spec.arg}): well typed, and not.`);
    writeFunction(w, ident(`_${name}`), spec.arg, spec.holds);
    w.line();
    writeFunction(w, ident(`_not_${name}`), spec.arg, spec.fails);
    w.line();
  }
}
