/**
 * Parameter JSON Schemas as generated Rego checks: `_schema_violation[action]` holds `[order, message]`
 * for every keyword a request's parameters violate, with ajv's wording; the smallest order is the
 * error reported. Keywords outside the supported subset refuse every request of the action.
 */
import type { JsonObject, JsonValue, PolicyIR } from '../ir.js';
import { KIND_FORMATS, STANDARD_ACTION_IDS } from '../repository.js';
import { actionDefinition } from '../engine-input.js';
import { RegoWriter, code, fixed, join, literal, member, stringLiteral, type Code } from './writer.js';

/** Keywords that carry no constraint. */
const ANNOTATIONS = new Set(['description', 'title', '$comment', 'default', 'examples', '$schema', '$id', 'deprecated', 'readOnly', 'writeOnly']);

/** Where a checked value is: its Rego term, the lines that bind it, and its JSON pointer as runtime pieces. */
interface Place {
  value: Code;
  body: Code[];
  pointer: Code[];
}

/** One violation rule: the lines that detect it and the text after the pointer. */
interface Check {
  body: Code[];
  text: string;
  pointer: Code[];
}

function pointerSegment(key: string): Code {
  return stringLiteral(`/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`);
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class SchemaChecks {
  readonly checks: Check[] = [];
  #vars = 0;

  #fresh(name: string): Code {
    this.#vars += 1;
    return fixed(`${name}${this.#vars}`);
  }

  #add(place: Place, lines: Code[], text: string): void {
    this.checks.push({ body: [...place.body, ...lines], text, pointer: place.pointer });
  }

  walk(schema: JsonValue | undefined, place: Place): void {
    if (schema === true || schema === undefined) return;
    if (schema === false) {
      this.#add(place, [], 'boolean schema is false');
      return;
    }
    if (!isObject(schema)) return;
    const v = place.value;
    for (const key of Object.keys(schema)) {
      if (ANNOTATIONS.has(key) || SUPPORTED.has(key)) continue;
      this.#add(place, [], `use the JSON Schema keyword '${key}', which APE's Rego does not check, so the request is refused`);
    }
    const format = schema['format'];
    if (typeof format === 'string' && !Object.prototype.hasOwnProperty.call(KIND_FORMATS, format)) {
      this.#add(place, [], `use the format '${format}', which APE's Rego does not check, so the request is refused`);
    }
    const type = schema['type'];
    if (typeof type === 'string' || Array.isArray(type)) {
      const types = (Array.isArray(type) ? type : [type]).filter((t): t is string => typeof t === 'string');
      this.#add(place, [code`not _json_type(${v}, ${literal(types)})`], `must be ${types.join(',')}`);
    }
    if (Array.isArray(schema['enum'])) this.#add(place, [code`not ${v} in ${literal(schema['enum'])}`], 'must be equal to one of the allowed values');
    if (schema['const'] !== undefined) this.#add(place, [code`${v} != ${literal(schema['const'])}`], 'must be equal to constant');
    const bound = (key: string, op: string, words: string) => {
      const n = schema[key];
      if (typeof n === 'number') this.#add(place, [code`is_number(${v})`, code`${v} ${fixed(op)} ${literal(n)}`], `must be ${words} ${n}`);
    };
    bound('maximum', '>', '<=');
    bound('minimum', '<', '>=');
    bound('exclusiveMaximum', '>=', '<');
    bound('exclusiveMinimum', '<=', '>');
    const size = (key: string, guard: string, op: string, words: string, unit: string) => {
      const n = schema[key];
      if (typeof n === 'number') this.#add(place, [code`${fixed(guard)}(${v})`, code`count(${v}) ${fixed(op)} ${literal(n)}`], `must NOT have ${words} than ${n} ${unit}`);
    };
    size('maxLength', 'is_string', '>', 'more', 'characters');
    size('minLength', 'is_string', '<', 'fewer', 'characters');
    const pattern = schema['pattern'];
    if (typeof pattern === 'string') this.#add(place, [code`is_string(${v})`, code`not regex.match(${stringLiteral(pattern)}, ${v})`], `must match pattern "${pattern}"`);
    size('maxItems', 'is_array', '>', 'more', 'items');
    size('minItems', 'is_array', '<', 'fewer', 'items');
    const items = schema['items'];
    if (Array.isArray(items)) this.#add(place, [], "use a tuple 'items', which APE's Rego does not check, so the request is refused");
    else if (items !== undefined) {
      const i = this.#fresh('i');
      const y = this.#fresh('y');
      this.walk(items, { value: y, body: [...place.body, code`is_array(${v})`, code`some ${i}, ${y} in ${v}`], pointer: [...place.pointer, stringLiteral('/'), code`_pointer_segment(${i})`] });
    }
    const required = schema['required'];
    if (Array.isArray(required)) {
      for (const name of required) {
        if (typeof name === 'string') this.#add(place, [code`is_object(${v})`, code`not ${stringLiteral(name)} in object.keys(${v})`], `must have required property '${name}'`);
      }
    }
    const properties = isObject(schema['properties']) ? schema['properties'] : {};
    const additional = schema['additionalProperties'];
    if (additional !== undefined && additional !== true) {
      const k = this.#fresh('k');
      const y = this.#fresh('y');
      const known = literal(new Set(Object.keys(properties)));
      const body = [...place.body, code`is_object(${v})`, code`some ${k}, ${y} in ${v}`, code`not ${k} in ${known}`];
      if (additional === false) this.checks.push({ body, text: 'must NOT have additional properties', pointer: place.pointer });
      else this.walk(additional, { value: y, body, pointer: [...place.pointer, stringLiteral('/'), code`_pointer_segment(${k})`] });
    }
    for (const [name, sub] of Object.entries(properties)) {
      this.walk(sub, { value: member(v, name), body: place.body, pointer: [...place.pointer, pointerSegment(name)] });
    }
  }
}

const SUPPORTED = new Set([
  'type', 'enum', 'const', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'pattern',
  'minItems', 'maxItems', 'items', 'required', 'properties', 'additionalProperties', 'format',
]);

/** The runtime message of a check: ajv's `parameters of '<action>'[ at <pointer>] <text>`. */
function message(action: string, check: Check): Code {
  const pieces: Code[] = [stringLiteral(`parameters of '${action}'`)];
  if (check.pointer.length > 0) pieces.push(stringLiteral(' at '), ...check.pointer);
  pieces.push(stringLiteral(` ${check.text}`));
  const merged: Code[] = [];
  let text: string | undefined;
  for (const piece of pieces) {
    const isText = piece.text.startsWith('"');
    if (isText) text = (text ?? '') + (JSON.parse(piece.text) as string);
    else {
      if (text !== undefined) merged.push(stringLiteral(text));
      text = undefined;
      merged.push(piece);
    }
  }
  if (text !== undefined) merged.push(stringLiteral(text));
  return merged.length === 1 ? (merged[0] as Code) : code`concat("", [${join(merged, ', ')}])`;
}

/** The actions whose parameters native validates: the policy's own and the standard repository's, sorted. */
export function schemaActions(ir: PolicyIR): string[] {
  return [...new Set([...Object.keys(ir.actions), ...STANDARD_ACTION_IDS])].filter((id) => actionDefinition(ir, id) !== undefined).sort();
}

/** Writes `_schema_violation[action]` rules for every action with a parameter schema. */
export function writeSchemaChecks(w: RegoWriter, ir: PolicyIR): void {
  w.comment("_schema_violation[action] holds [order, message] for each keyword of the action's parameter schema that input.params violates.");
  for (const action of schemaActions(ir)) {
    const definition = actionDefinition(ir, action);
    if (!definition) continue;
    const walker = new SchemaChecks();
    walker.walk(definition.parameters, { value: fixed('_params'), body: [], pointer: [] });
    walker.checks.forEach((check, order) => {
      w.block(code`${member(fixed('_schema_violation'), action)} contains [${literal(order)}, msg] if {`, () => {
        for (const line of check.body) w.line(line);
        w.line(code`msg := ${message(action, check)}`);
      });
      w.line();
    });
  }
}
