/**
 * The request form of an emitted policy: checks the APE request as written (`{action, params,
 * context, previous_action, provenance, sources}`) the way native's RequestPreparer does, and computes the
 * facts the rules read from it in Rego (`_facts`), with `_unsure_reasons` for values Rego cannot
 * canonicalize exactly.
 */
import { planFacts, SOURCES_MESSAGE, type FactSpec } from '../engine-input.js';
import type { PolicyIR } from '../ir.js';
import { CANONICAL_LIBRARY } from './canonical-library.js';
import { writeSchemaChecks } from './schema.js';
import { RegoWriter, code, fixed, literal, member, stringLiteral, type Code } from './writer.js';

/** Fixed Rego text: request checks in native's order, and the fact helpers. Never policy data. */
const REQUEST_LIBRARY = `# _params and _context: the request's objects, absent or null read as {} (as native reads them).
_params := {} if {
	object.get(input, "params", null) == null
} else := input.params

_context := {} if {
	object.get(input, "context", null) == null
} else := input.context

# _refusal: the error native's RequestPreparer throws for this request, checked in the same order.
_refusal := {"code": "APE_REQUEST_INVALID", "message": "request must be an object"} if {
	not is_object(input)
} else := {"code": "APE_REQUEST_INVALID", "message": "request.action must be a non-empty string"} if {
	not _action_given
} else := _params_invalid("", "must be an object") if {
	not is_object(_params)
} else := _params_invalid(_pointer(p), "nests deeper than 64 levels (or contains a cycle)") if {
	p := _too_deep(_params)
} else := {"code": "APE_REQUEST_INVALID", "message": "request.context must be an object"} if {
	not is_object(_context)
} else := _params_invalid(concat("", ["/context", _pointer(p)]), "nests deeper than 64 levels (or contains a cycle)") if {
	p := _too_deep(_context)
} else := {"code": "APE_REQUEST_INVALID", "message": "request.provenance must be an object of parameter path -> label"} if {
	"provenance" in object.keys(input)
	not is_object(input.provenance)
} else := {"code": "APE_REQUEST_INVALID", "message": ${JSON.stringify(SOURCES_MESSAGE)}} if {
	"sources" in object.keys(input)
	not _sources_valid
} else := {"code": "APE_PARAMS_INVALID", "message": violation[1]} if {
	violation := min(_schema_violation[input.action])
} else := {"code": "APE_REQUEST_INVALID", "message": "request.previous_action must be a string"} if {
	"previous_action" in object.keys(input)
	not is_string(input.previous_action)
}

# _sources_valid: request.sources is an object of parameter path -> list of places (strings).
_sources_valid if {
	is_object(input.sources)
	every places in input.sources {
		is_array(places)
		every place in places {
			is_string(place)
		}
	}
}

_action_given if {
	is_string(input.action)
	input.action != ""
}

_params_invalid(pointer, text) := {"code": "APE_PARAMS_INVALID", "message": concat("", ["parameters of '", input.action, "' ", text])} if {
	pointer == ""
} else := {"code": "APE_PARAMS_INVALID", "message": concat("", ["parameters of '", input.action, "' at ", pointer, " ", text])}

# _too_deep(x): the first path (in sort order) of an object or array nested deeper than 64 levels.
_too_deep(x) := min({p |
	walk(x, [p, v])
	count(p) > 64
	_container(v)
})

_container(v) if is_object(v)

_container(v) if is_array(v)

_pointer(p) := concat("", [concat("", ["/", _pointer_segment(s)]) | some s in p])

_pointer_segment(s) := replace(replace(s, "~", "~0"), "/", "~1") if {
	is_string(s)
} else := format_int(s, 10)

_json_type(v, types) if {
	some t in types
	_json_is(v, t)
}

_json_is(v, "string") if is_string(v)

_json_is(v, "number") if is_number(v)

_json_is(v, "integer") if {
	is_number(v)
	v == round(v)
}

_json_is(v, "boolean") if is_boolean(v)

_json_is(v, "object") if is_object(v)

_json_is(v, "array") if is_array(v)

_json_is(v, "null") if is_null(v)

# _facts: what the rules read, keyed by fact, computed from the request (facts_decision replaces it).
_facts[fact] := r.value if {
	some [fact, _, r] in _fact_results[input.action]
}

# _unsure_reasons: one reason per value read by the rules that Rego cannot canonicalize exactly.
_unsure_reasons := sort({reason |
	some [_, what, r] in _fact_results[input.action]
	reason := concat("", [what, " ", r.unsure, "; APE's Rego denies what it cannot canonicalize exactly"])
})

# _fact(k, part, t): the fact from a kind result k: its whole value or a part, as is or its length or IP bits.
_fact(k, part, t) := _transformed(_part(k, part), t)

_part(k, part) := {"value": k.value} if {
	part == ""
	_ = k.value
} else := {"value": k.parts[part]} if {
	part != ""
	_ = k.parts[part]
} else := {"unsure": k.unsure} if {
	_ = k.unsure
} else := {}

_transformed(r, t) := r if {
	t == "value"
} else := r if {
	_ = r.unsure
} else := {"value": count(r.value)} if {
	t == "length"
	_countable(r.value)
} else := _ip_bits(_kind_ip(r.value)) if {
	t == "bits"
	is_string(r.value)
} else := {}

_countable(v) if is_string(v)

_countable(v) if is_array(v)

_ip_bits(k) := {"value": k.parts.bits} if {
	_ = k.parts.bits
} else := k

_kind_plain(v) := {"value": v}

_provenance(label) := {"value": label} if {
	is_string(label)
} else := {}

_sources(places) := {"value": places} if {
	is_array(places)
} else := {}`;

const KIND_FUNCTIONS: Record<FactSpec['resolved']['kind'], string> = {
  plain: '_kind_plain',
  path: '_kind_path',
  url: '_kind_url',
  domain: '_kind_domain',
  email: '_kind_email',
  ip: '_kind_ip',
};

function rawValue(spec: FactSpec): Code {
  let ref = fixed(spec.resolved.source === 'params' ? '_params' : '_context');
  for (const segment of spec.resolved.segments) ref = member(ref, segment);
  return ref;
}

/** How a reason names the value a fact is read from. */
function valueName(spec: FactSpec): string {
  const path = spec.fact.replace(/#[a-z]+$/, '');
  return spec.resolved.source === 'params' ? `parameter '${path}'` : `context value '${path}'`;
}

function writeFacts(w: RegoWriter, ir: PolicyIR): void {
  const { plans } = planFacts(ir);
  if (plans.size === 0) {
    w.comment('_fact_results: no rule reads a value.');
    w.line(fixed('_fact_results := {}'));
    w.line();
    return;
  }
  w.comment('_fact_results[action] holds [fact, what, result] for each value the rules of the action read.');
  for (const [action, specs] of [...plans].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    for (const spec of specs) {
      const head = code`${member(fixed('_fact_results'), action)} contains [${stringLiteral(spec.fact)}, ${stringLiteral(valueName(spec))}, r] if {`;
      w.block(head, () => {
        if (spec.transform === 'provenance') {
          const path = spec.fact.slice(0, -'#provenance'.length);
          w.line(code`r := _provenance(${member(fixed('input.provenance'), path)})`);
          return;
        }
        if (spec.transform === 'source') {
          const path = spec.fact.slice(0, -'#source'.length);
          w.line(code`r := _sources(${member(fixed('input.sources'), path)})`);
          return;
        }
        const kind = code`${fixed(KIND_FUNCTIONS[spec.resolved.kind])}(${rawValue(spec)})`;
        w.line(code`r := _fact(${kind}, ${literal(spec.resolved.derived ?? '')}, ${literal(spec.transform)})`);
      });
      w.line();
    }
  }
}

/** Writes the request form's checks, fact computation and canonicalization library. */
export function writeRequestForm(w: RegoWriter, ir: PolicyIR): void {
  for (const line of REQUEST_LIBRARY.split('\n')) w.line(line === '' ? undefined : fixed(line));
  w.line();
  writeFacts(w, ir);
  writeSchemaChecks(w, ir);
  for (const line of CANONICAL_LIBRARY.split('\n')) w.line(line === '' ? undefined : fixed(line));
  w.line();
}
