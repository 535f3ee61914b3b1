/** APE's refusals as the model should read them, and unwrapping of the tool's own failures. */
import { ApeError } from '../../errors.js';
import { ToolExecutionError } from '../../runtime/index.js';

/** The error result a model receives for a refused call. */
export interface RefusalResult {
  error: string;
  code: string;
  reason: string;
}

/**
 * Classifies an error of `ape.call`: the tool's own failure is rethrown as the framework would see it
 * from the bare tool; an APE refusal is returned; anything else is rethrown.
 */
export function refusalOf(error: unknown): ApeError {
  if (error instanceof ToolExecutionError) throw error.cause;
  if (error instanceof ApeError) return error;
  throw error;
}

/** The model-readable result of a refusal. */
export function refusalResult(tool: string, error: ApeError): RefusalResult {
  return { error: `APE refused the call of '${tool}'`, code: error.code, reason: error.message };
}

/** The model-readable text of a refusal. */
export function refusalText(tool: string, reason: string): string {
  return `APE refused the call of '${tool}': ${reason}`;
}
