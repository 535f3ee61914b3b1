/** Typed errors of the OPA integration: a missing OPA CLI, a failing OPA command, a bad bundle option. */
import { ApeError } from '../../errors.js';

/** The OPA release APE is tested with. */
export const OPA_VERSION = 'v1.22.2';
/** A command that installs that OPA CLI anywhere Go is installed (binaries: https://www.openpolicyagent.org/docs#running-opa). */
export const OPA_INSTALL_COMMAND = `go install github.com/open-policy-agent/opa@${OPA_VERSION}`;

/** No OPA CLI was found (APE_OPA, the tools folder, PATH). */
export class OpaNotFoundError extends ApeError {
  /** `checkoutScript`: the install script of an APE checkout, when there is one. */
  constructor(detail: string, checkoutScript?: string) {
    const how = checkoutScript
      ? `bash ${checkoutScript}`
      : `${OPA_INSTALL_COMMAND} (or a binary from https://www.openpolicyagent.org/docs#running-opa) and put opa on PATH`;
    super('APE_OPA_MISSING', `OPA CLI not found (${detail}); install OPA ${OPA_VERSION}: ${how}, or set APE_OPA to its path`);
  }
}

/** An OPA command failed; `output` is what it printed. */
export class OpaCommandError extends ApeError {
  readonly output: string;
  constructor(command: string, output: string) {
    const first = output.split('\n').find((l) => l.trim() !== '') ?? 'no output';
    super('APE_OPA_FAILED', `opa ${command} failed: ${first.trim()}`);
    this.output = output;
  }
}

/** The emitted Rego needs a builtin the OPA WASM SDK does not provide natively. */
export class OpaCapabilityError extends ApeError {
  readonly output: string;
  constructor(output: string) {
    const first = output.split('\n').find((l) => /undefined function|unsupported|capabilit/i.test(l)) ?? output.split('\n')[0] ?? '';
    super('APE_OPA_CAPABILITY', `the policy needs a builtin that OPA's WASM target does not support natively: ${first.trim()}`);
    this.output = output;
  }
}

/** Bundle options are invalid (unknown algorithm, unreadable key). */
export class BundleOptionError extends ApeError {
  constructor(message: string) {
    super('APE_BUNDLE_OPTION', message);
  }
}
