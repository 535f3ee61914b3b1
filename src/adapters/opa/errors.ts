/** Typed errors of the OPA integration: a missing OPA CLI, a failing OPA command, a bad bundle option. */
import { ApeError } from '../../errors.js';

/** The command that installs the pinned OPA CLI into the project's tools folder. */
export const OPA_INSTALL_COMMAND = 'bash scripts/install-opa.sh';

/** No OPA CLI was found (APE_OPA, the tools folder, PATH). */
export class OpaNotFoundError extends ApeError {
  constructor(detail: string) {
    super('APE_OPA_MISSING', `OPA CLI not found (${detail}); install it with: ${OPA_INSTALL_COMMAND} (or set APE_OPA to its path)`);
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
