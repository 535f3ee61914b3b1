/** The interface every decision engine implements: native, opa-wasm, opa-server, cedar. */
import type { DecisionResult, EngineInput } from '../compiler/ir.js';

/** A decision engine bound to one compiled policy. */
export interface DecisionEngine {
  /** The name `--engine` selects it by. */
  readonly name: string;
  /** Decides one engine input. Rejects (never resolves to allow) when the engine fails. */
  decide(input: EngineInput): Promise<DecisionResult>;
  /** Releases what the engine holds (processes, connections, WASM instances). */
  close(): Promise<void>;
}
