/** Compile targets by name: what `ape compile --target <name>` can emit. Built-ins are fixed; others register once. */
import { ApeError } from '../errors.js';
import type { CompiledPolicy } from './compile.js';
import { canonicalJson } from './hash.js';

/** Options every target receives from the CLI. */
export interface TargetOptions {
  /** Output path (`-o`): a file or a directory, as the target documents. */
  output?: string;
  /** Target-specific options (signing key, algorithm...). */
  [option: string]: string | boolean | undefined;
}

/** What a target produced: text for stdout when there is no output path, and the files it wrote. */
export interface TargetResult {
  stdout?: string;
  written: string[];
}

/** One compile target. */
export interface CompileTarget {
  description: string;
  emit(policy: CompiledPolicy, options: TargetOptions): Promise<TargetResult>;
}

/** A target name is taken (built-in or registered before), or the registration is malformed. */
export class TargetRegistrationError extends ApeError {
  readonly target: string;
  constructor(target: string, message: string) {
    super('APE_TARGET_REGISTRATION', `compile target '${target}' ${message}`);
    this.target = target;
  }
}

type Emit = CompileTarget['emit'];

/**
 * The built-in targets: their names are reserved from the start (no registration can take them),
 * whoever imports this module. Their code lives in the layers above the compiler (OPA adapter,
 * verifier), which hand it over with `defineBuiltinTarget` when `ape-policy-engine/targets` (or the
 * package root, or the CLI) is imported; the compiler itself imports nothing above it.
 */
const BUILTIN: Record<string, string> = {
  rego: 'Rego v1 package ape.<policy> (-o <dir>: also <policy>_test.rego from the examples)',
  bundle: 'OPA bundle tar.gz (-o <file>; --signing-key <file> [--signing-alg RS256|HS256|...])',
  wasm: 'OPA WASM bundle tar.gz built by `opa build -t wasm` (-o <file>)',
  cedar: 'Cedar policy set and schema (-o <dir>: <name>.cedar, <name>.cedarschema, <name>.cedarschema.json)',
  xacml: 'XACML 3.0 PolicySet (-o <dir>: <name>.xml)',
  model: 'the JSON verification model (format ape-verification-model, version 1)',
  smt: 'the decision function as SMT-LIB 2.6 (z3, cvc5)',
  tla: 'TLA+ spec of the token protocol with its invariants; -o <dir> writes ApeTokens.tla, MCApeTokens.tla and .cfg',
};

const builtinEmit = new Map<string, Emit>();
const targets = new Map<string, CompileTarget>();
for (const [name, description] of Object.entries(BUILTIN)) {
  targets.set(name, Object.freeze({
    description,
    emit(policy: CompiledPolicy, options: TargetOptions): Promise<TargetResult> {
      const emit = builtinEmit.get(name);
      if (!emit) throw new TargetRegistrationError(name, "is built in but its code is not loaded: import 'ape-policy-engine/targets' first");
      return emit(policy, options);
    },
  }));
}

/** @internal The implementing module of a built-in target hands over its code (once). */
export function defineBuiltinTarget(name: string, emit: Emit): void {
  if (!Object.hasOwn(BUILTIN, name)) throw new TargetRegistrationError(name, 'is not a built-in target');
  if (builtinEmit.has(name)) throw new TargetRegistrationError(name, 'is already defined');
  builtinEmit.set(name, emit);
}

/**
 * Registers a target under a new name. A name already taken (a built-in or one registered before)
 * throws `TargetRegistrationError`: a target can never be replaced.
 */
export function registerTarget(name: string, target: CompileTarget): void {
  if (typeof name !== 'string' || name.length === 0) throw new TargetRegistrationError(String(name), 'needs a non-empty name');
  if (targets.has(name)) throw new TargetRegistrationError(name, 'is already registered (targets cannot be replaced)');
  const description: unknown = target?.description;
  const emit: unknown = target?.emit;
  if (typeof description !== 'string' || typeof emit !== 'function') throw new TargetRegistrationError(name, 'needs a description and an emit function');
  targets.set(name, Object.freeze({ description, emit: emit as Emit }));
}

/** The target with this name, if any. */
export function getTarget(name: string): CompileTarget | undefined {
  return targets.get(name);
}

/** Names of the registered targets. */
export function targetNames(): string[] {
  return [...targets.keys()];
}

/** The IR as stable, readable JSON (keys in canonical order, two-space indent). */
export function irJson(policy: CompiledPolicy): string {
  return `${JSON.stringify(JSON.parse(canonicalJson({ hash: policy.hash, ir: policy.ir })), null, 2)}\n`;
}

targets.set('ir', {
  description: 'the IR as JSON ({"hash", "ir"})',
  async emit(policy, options) {
    const text = irJson(policy);
    if (!options.output) return { stdout: text, written: [] };
    const { writeFileSync } = await import('node:fs');
    writeFileSync(options.output, text);
    return { written: [options.output] };
  },
});
