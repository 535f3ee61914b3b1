/** Caller data copied once through the runtime's copy-once (`plainCopy`), refusals reported as the agent layer's parameter errors. */
import type { JsonObject, JsonValue } from '../compiler/index.js';
import { ParameterValidationError } from '../index.js';
import { InputError, plainCopy as runtimeCopy } from '../runtime/index.js';

/**
 * A frozen plain JSON copy of `value`, every property read once (the runtime's `plainCopy`: accessors,
 * proxies, non-plain objects, cycles, deep nesting, NaN and lone surrogates refused). The runtime takes
 * this copy as it is, without copying it again. Throws `ParameterValidationError` naming the first bad place.
 */
export function plainCopy(value: unknown, action: string, pointer = ''): JsonValue {
  try {
    return runtimeCopy(value, action) as JsonValue;
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    const prefix = `${error.where}${error.pointer ? ` at ${error.pointer}` : ''} `;
    const reason = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
    throw new ParameterValidationError(action, `${pointer}${error.pointer}`, reason);
  }
}

/** A plain JSON object copy of `value`. Throws `ParameterValidationError` when it is not an object. */
export function plainObject(value: unknown, action: string, pointer = ''): JsonObject {
  const copy = plainCopy(value, action, pointer);
  if (copy === null || typeof copy !== 'object' || Array.isArray(copy)) throw new ParameterValidationError(action, pointer, 'must be an object');
  return copy;
}
