/** The evaluator: request -> validated, canonicalized engine input -> decision, with any engine. */
import { createEngine, type EngineOptions } from './adapters/registry.js';
import type { DecisionEngine } from './adapters/engine.js';
import { NativeEngine } from './adapters/native/index.js';
import type { CompiledPolicy } from './compiler/compile.js';
import { RequestPreparer, type DecisionRequest } from './compiler/engine-input.js';
import type { DecisionResult, EngineInput } from './compiler/ir.js';

/** Decides requests against one compiled policy through one engine. */
export class Evaluator {
  readonly policy: CompiledPolicy;
  readonly engine: DecisionEngine;
  readonly #preparer: RequestPreparer;

  constructor(policy: CompiledPolicy, engine: DecisionEngine) {
    this.policy = policy;
    this.engine = engine;
    this.#preparer = new RequestPreparer(policy.ir);
  }

  /** The engine input for a request. Throws `RequestError` or `ParameterValidationError`. */
  prepare(request: DecisionRequest): EngineInput {
    return this.#preparer.prepare(request);
  }

  /** Decides a request. Rejects on bad parameters or an engine failure (never an allow). */
  async decide(request: DecisionRequest): Promise<DecisionResult> {
    return this.engine.decide(this.prepare(request));
  }

  /**
   * Decides a request as soon as the engine can: a result when it decides synchronously (native),
   * else the promise of `decide`. For callers on a hot path that must not wait a tick needlessly.
   */
  decideNow(request: DecisionRequest): DecisionResult | Promise<DecisionResult> {
    return this.decide(request);
  }

  /** Releases the engine. */
  close(): Promise<void> {
    return this.engine.close();
  }
}

/** An evaluator on the native engine, with a synchronous `decideSync`. */
export class NativeEvaluator extends Evaluator {
  readonly #native: NativeEngine;

  constructor(policy: CompiledPolicy) {
    const engine = new NativeEngine(policy.ir, policy.hash);
    super(policy, engine);
    this.#native = engine;
  }

  /** Decides a request synchronously. Throws on bad parameters. */
  decideSync(request: DecisionRequest): DecisionResult {
    return this.#native.decideSync(this.prepare(request));
  }

  /** Decides synchronously (throws on bad parameters). */
  override decideNow(request: DecisionRequest): DecisionResult {
    return this.decideSync(request);
  }
}

/** Creates an evaluator for a policy with the named engine (default `native`). */
export async function createEvaluator(policy: CompiledPolicy, engine = 'native', options: EngineOptions = {}): Promise<Evaluator> {
  if (engine === 'native') return new NativeEvaluator(policy);
  return new Evaluator(policy, await createEngine(engine, policy, options));
}
