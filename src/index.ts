/** APE, the Agent Policy Engine: the public API. */
export * from './compiler/index.js';
export * from './errors.js';
export * from './evaluator.js';
export type { DecisionEngine } from './adapters/engine.js';
export { createEngine, engineNames, registerEngine, type EngineFactory, type EngineOptions } from './adapters/registry.js';
export { NativeEngine } from './adapters/native/index.js';

