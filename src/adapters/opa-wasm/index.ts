/** Engine `opa-wasm`: decides in-process by evaluating the policy's `decision` entrypoint in OPA's WASM. */
import { loadPolicy, type LoadedPolicy } from '@open-policy-agent/opa-wasm';
import type { CompiledPolicy } from '../../compiler/compile.js';
import type { DecisionResult, EngineInput } from '../../compiler/ir.js';
import { factsDecisionPath } from '../../compiler/rego/index.js';
import { EngineError } from '../../errors.js';
import type { DecisionEngine } from '../engine.js';
import { OpaUndefinedDecisionError, toDecisionResult } from '../opa/decision.js';
import { readTarGz } from '../opa/tar.js';
import { cachedWasmBundle } from '../opa/wasm.js';

const NAME = 'opa-wasm';

/** The WASM module of a bundle (`/policy.wasm`), or the bytes themselves when they are a WASM module. */
export async function wasmFromBundle(bytes: Buffer): Promise<Buffer> {
  if (bytes.subarray(0, 4).equals(Buffer.from([0, 0x61, 0x73, 0x6d]))) return bytes;
  let files: Map<string, Buffer>;
  try {
    files = await readTarGz(bytes);
  } catch (error) {
    throw new EngineError(NAME, `not a WASM module or bundle: ${error instanceof Error ? error.message : String(error)}`);
  }
  const wasm = files.get('policy.wasm');
  if (!wasm) throw new EngineError(NAME, 'the bundle has no policy.wasm (build it with --target wasm)');
  return wasm;
}

/** A loaded policy.wasm evaluating one entrypoint. */
export class OpaWasmEngine implements DecisionEngine {
  readonly name = NAME;
  readonly #policy: LoadedPolicy;
  readonly #entrypoint: number;
  readonly #path: string;
  readonly #hash: string;

  private constructor(policy: LoadedPolicy, entrypoint: number, path: string, policyHash: string) {
    this.#policy = policy;
    this.#entrypoint = entrypoint;
    this.#path = path;
    this.#hash = policyHash;
  }

  /** Loads a WASM bundle (or module) whose entrypoint `path` (e.g. `ape/<name>/facts_decision`) returns decisions for `policyHash`. */
  static async load(bytes: Buffer, path: string, policyHash: string): Promise<OpaWasmEngine> {
    const wasm = await wasmFromBundle(bytes);
    let policy: LoadedPolicy;
    try {
      // The module's static data never exceeds its size: that many 64 KiB pages (plus headroom) always suffice to start.
      policy = await loadPolicy(wasm, { initial: Math.ceil(wasm.length / 65536) + 5 });
      policy.setData({});
    } catch (error) {
      throw new EngineError(NAME, `cannot load the WASM policy: ${error instanceof Error ? error.message : String(error)}`);
    }
    const entrypoints = policy.entrypoints as Record<string, number>;
    const id = entrypoints[path];
    if (id === undefined) throw new EngineError(NAME, `the WASM policy has no entrypoint ${path} (it has ${Object.keys(entrypoints).join(', ')})`);
    return new OpaWasmEngine(policy, id, path, policyHash);
  }

  /** Decides synchronously: the in-process hot path. Throws an `EngineError` rather than return a non-decision. */
  decideSync(input: EngineInput): DecisionResult {
    let results: unknown;
    try {
      results = this.#policy.evaluate(input, this.#entrypoint);
    } catch (error) {
      throw new EngineError(NAME, `evaluation failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    const first = Array.isArray(results) ? (results[0] as { result?: unknown } | undefined) : undefined;
    if (first === undefined || first.result === undefined) throw new OpaUndefinedDecisionError(NAME, this.#path);
    return toDecisionResult(NAME, first.result, this.#hash);
  }

  decide(input: EngineInput): Promise<DecisionResult> {
    try {
      return Promise.resolve(this.decideSync(input));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new EngineError(NAME, String(error)));
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The `opa-wasm` engine for a compiled policy: builds (or reuses from the cache) its WASM bundle through the OPA CLI. */
export async function createOpaWasmEngine(policy: CompiledPolicy): Promise<OpaWasmEngine> {
  return OpaWasmEngine.load(await cachedWasmBundle(policy), factsDecisionPath(policy.ir.name), policy.hash);
}
