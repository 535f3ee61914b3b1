/** Typed failures of the `xacml` engine: each is an `EngineError` (code APE_ENGINE_FAILED), never an allow. */
import { EngineError } from '../../errors.js';

/** The engine name. */
export const XACML_ENGINE = 'xacml';

/** The PDP could not be reached (connection refused, reset, DNS). */
export class XacmlPdpUnreachableError extends EngineError {
  readonly url: string;
  constructor(url: string, detail: string) {
    super(XACML_ENGINE, `cannot reach the XACML PDP at ${url}: ${detail}`);
    this.url = url;
  }
}

/** The PDP did not answer within the timeout. */
export class XacmlPdpTimeoutError extends EngineError {
  readonly timeoutMs: number;
  constructor(url: string, timeoutMs: number) {
    super(XACML_ENGINE, `the XACML PDP at ${url} did not answer within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** The PDP answered with a status other than 200, or a body that is not a JSON Profile response. */
export class XacmlPdpResponseError extends EngineError {
  readonly status: number;
  constructor(url: string, status: number, detail: string) {
    super(XACML_ENGINE, `the XACML PDP at ${url} answered ${status}: ${detail}`);
    this.status = status;
  }
}

/** The PDP decided NotApplicable or Indeterminate (or anything but Permit/Deny). */
export class XacmlNotDecidedError extends EngineError {
  readonly xacmlDecision: string;
  constructor(decision: string, status: string) {
    super(XACML_ENGINE, `the XACML PDP decided ${decision}${status ? ` (${status})` : ''}`);
    this.xacmlDecision = decision;
  }
}

/** The PDP's decision, obligations and explain advice do not agree (a policy other than the compiled one?). */
export class XacmlInconsistentError extends EngineError {
  constructor(detail: string) {
    super(XACML_ENGINE, `the XACML PDP's answer is inconsistent: ${detail}`);
  }
}
