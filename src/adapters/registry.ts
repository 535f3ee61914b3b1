/** Engines by name: the one place `--engine <name>` is resolved. */
import type { CompiledPolicy } from '../compiler/compile.js';
import { ApeError, UnknownEngineError } from '../errors.js';
import type { DecisionEngine } from './engine.js';
import { NativeEngine } from './native/index.js';

/** Options an engine factory may read (each engine documents its own). */
export interface EngineOptions {
  /** Base URL of a running OPA server, for `opa-server`. */
  opaUrl?: string;
  /** The XACML PDP endpoint (JSON Profile), for `xacml`. */
  xacmlUrl?: string;
  /** Milliseconds before a remote engine gives up (fail closed). */
  timeoutMs?: number;
}

/** Builds an engine for a compiled policy. */
export type EngineFactory = (policy: CompiledPolicy, options: EngineOptions) => Promise<DecisionEngine>;

const factories = new Map<string, EngineFactory>([
  ['native', (policy) => Promise.resolve(new NativeEngine(policy.ir, policy.hash))],
  ['opa-wasm', async (policy) => (await import('./opa-wasm/index.js')).createOpaWasmEngine(policy)],
  ['opa-server', async (policy, options) => (await import('./opa-server/index.js')).createOpaServerEngine(policy, options)],
  ['cedar', async (policy) => (await import('./cedar/index.js')).createCedarEngine(policy)],
  ['xacml', async (policy, options) => (await import('./xacml/index.js')).createXacmlEngine(policy, options)],
]);

/** An engine name is taken (built-in or registered before), or the registration is malformed. */
export class EngineRegistrationError extends ApeError {
  readonly engine: string;
  constructor(engine: string, message: string) {
    super('APE_ENGINE_REGISTRATION', `engine '${engine}' ${message}`);
    this.engine = engine;
  }
}

/**
 * Registers an engine under a new name. A name already taken (the built-in `native`, `opa-wasm`,
 * `opa-server`, `cedar`, or one registered before) throws `EngineRegistrationError`: an engine can
 * never be replaced, so `--engine cedar` always means the real Cedar.
 */
export function registerEngine(name: string, factory: EngineFactory): void {
  if (typeof name !== 'string' || name.length === 0) throw new EngineRegistrationError(String(name), 'needs a non-empty name');
  if (typeof factory !== 'function') throw new EngineRegistrationError(name, 'needs a factory function');
  if (factories.has(name)) throw new EngineRegistrationError(name, 'is already registered (engines cannot be replaced)');
  factories.set(name, factory);
}

/** Names of the engines known now. */
export function engineNames(): string[] {
  return [...factories.keys()];
}

/** Creates the named engine for a policy; throws `UnknownEngineError` for an unknown name. */
export async function createEngine(name: string, policy: CompiledPolicy, options: EngineOptions = {}): Promise<DecisionEngine> {
  const factory = factories.get(name);
  if (!factory) throw new UnknownEngineError(name, engineNames());
  return factory(policy, options);
}
