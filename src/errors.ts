/** Typed errors shared by every layer: each has a stable code and the fields a caller needs. */
import type { Diagnostic } from './compiler/diagnostics.js';

/** Base class of every APE error: `code` is stable, `message` is one clear line. */
export class ApeError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A policy could not be read (missing file, unreadable, too large). */
export class PolicyLoadError extends ApeError {
  readonly file: string;
  constructor(file: string, message: string) {
    super('APE_POLICY_LOAD', message);
    this.file = file;
  }
}

/** A policy did not compile: every error diagnostic is attached. */
export class PolicyCompileError extends ApeError {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[]) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    const first = errors[0];
    const where = first ? `${first.file}:${first.line}:${first.column} ${first.code} ${first.message}` : 'unknown error';
    super('APE_POLICY_INVALID', errors.length > 1 ? `${where} (and ${errors.length - 1} more)` : where);
    this.diagnostics = diagnostics;
  }
}

/** The parameters of a request violate the action's parameter schema, or are not JSON. */
export class ParameterValidationError extends ApeError {
  readonly action: string;
  /** JSON pointer into the parameters object. */
  readonly pointer: string;
  constructor(action: string, pointer: string, message: string) {
    super('APE_PARAMS_INVALID', `parameters of '${action}'${pointer ? ` at ${pointer}` : ''} ${message}`);
    this.action = action;
    this.pointer = pointer;
  }
}

/** A request is malformed (not an object, no action id...). */
export class RequestError extends ApeError {
  constructor(message: string) {
    super('APE_REQUEST_INVALID', message);
  }
}

/** No engine by that name is known. */
export class UnknownEngineError extends ApeError {
  readonly engine: string;
  constructor(engine: string, known: readonly string[]) {
    super('APE_ENGINE_UNKNOWN', `unknown engine '${engine}'; expected one of ${known.join(', ')}`);
    this.engine = engine;
  }
}

/** An engine failed to decide; callers must treat it as a denial. */
export class EngineError extends ApeError {
  readonly engine: string;
  constructor(engine: string, message: string) {
    super('APE_ENGINE_FAILED', `${engine}: ${message}`);
    this.engine = engine;
  }
}
