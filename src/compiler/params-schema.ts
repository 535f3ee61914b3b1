/** Compiles and caches parameter JSON Schemas of actions (one ajv instance, APE's kind formats registered). */
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { JsonObject } from './ir.js';
import { KIND_FORMATS } from './repository.js';

const ajv = new Ajv({ allErrors: false, strict: true, strictTypes: false, strictTuples: false, strictRequired: false, allowUnionTypes: true });
addFormats.default(ajv, { mode: 'fast' });
// APE's kinds are markers for canonicalization; an invalid value canonicalizes to "missing".
for (const format of Object.keys(KIND_FORMATS)) {
  ajv.addFormat(format, { type: 'string', validate: () => true });
}

const cache = new WeakMap<JsonObject, ValidateFunction>();

/** The compiled validator of a parameter schema (cached per schema object). Throws if the schema is invalid. */
export function parameterValidator(schema: JsonObject): ValidateFunction {
  let validate = cache.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    cache.set(schema, validate);
  }
  return validate;
}

/** Why a parameter schema does not compile, or undefined when it does. */
export function parameterSchemaProblem(schema: JsonObject): string | undefined {
  try {
    parameterValidator(schema);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
