/** Conformance: the opa-wasm engine decides every suite input exactly like the native evaluator. */
import { createOpaWasmEngine } from '../../src/adapters/opa-wasm/index.js';
import { describeConformance } from '../conformance/run.js';

describeConformance('opa-wasm', (policy) => createOpaWasmEngine(policy));
