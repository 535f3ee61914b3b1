/** The layer rule (eslint/layers.js) on files of every layer, existing or not yet: what it lets through and what it stops. */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, it } from 'vitest';
import plugin from '../../eslint/layers.js';

RuleTester.describe = describe;
RuleTester.it = it;

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const at = (file: string, code: string) => ({ filename: join(SRC, file), code });
const upward = (file: string, code: string) => ({ ...at(file, code), errors: [{ messageId: 'upward' }] });
const internal = (file: string, code: string) => ({ ...at(file, code), errors: [{ messageId: 'internal' }] });

new RuleTester({ languageOptions: { parser: tseslint.parser, ecmaVersion: 2022, sourceType: 'module' } }).run('ape/layers', plugin.rules.layers, {
  valid: [
    at('compiler/compile.ts', "import { x } from './ir.js';"),
    at('compiler/rego/emit.ts', "import type { PolicyIR } from '../ir.js';"),
    at('errors.ts', "import type { Diagnostic } from './compiler/diagnostics.js';"),
    at('adapters/opa/targets.ts', "import { nativeDecide } from '../native/index.js';"),
    at('evaluator.ts', "import { NativeEngine } from './adapters/native/index.js';"),
    at('runtime/intent.ts', "import { globToRegExp } from '../compiler/glob.js';"),
    at('runtime/run.ts', "import type { Evaluator } from '../evaluator.js';"),
    at('runtime/x.ts', "import { NativeEngine } from '../adapters/native/index.js';"),
    at('verify/x.ts', "import { ApeRuntime } from '../runtime/index.js';"),
    at('agent/guard.ts', "import { ApeRuntime } from '../runtime/index.js'; import { compilePolicyFile } from '../index.js'; import { x } from './plan.js';"),
    at('mcp/proxy.ts', "import { createEvaluator } from '../index.js'; import { findOpa } from '../adapters/opa/index.js';"),
    at('integrations/ai-sdk/index.ts', "import { semanticDiff } from '../../verify/index.js'; import { y } from './wrap.js';"),
    at('distribution/reload.ts', "import { compilePolicySource } from '../compiler/index.js';"),
    at('integrations/core/errors.ts', "import { ApeError } from '../../errors.js';"),
    at('cli/commands/compile.ts', "import '../../adapters/opa/targets.js'; import { z } from '../../runtime/run.js';"),
    at('agent/x.ts', "import { readFileSync } from 'node:fs'; import { parse } from 'yaml';"),
  ],
  invalid: [
    upward('compiler/rego/tests.ts', "import { NativeEngine } from '../../adapters/native/index.js';"),
    upward('compiler/x.ts', "import { NativeEvaluator } from '../evaluator.js';"),
    upward('compiler/x.ts', "export * from '../index.js';"),
    upward('adapters/native/x.ts', "import { ApeRuntime } from '../../runtime/index.js';"),
    upward('runtime/x.ts', "import { verifyProperty } from '../verify/index.js';"),
    upward('agent/x.ts', "import { proxy } from '../mcp/index.js';"),
    upward('mcp/x.ts', "import { wrap } from '../integrations/ai-sdk/index.js';"),
    upward('integrations/langchain/x.ts', "import { serve } from '../../distribution/index.js';"),
    upward('distribution/x.ts', "import { runCli } from '../cli/program.js';"),
    upward('compiler/targets.ts', "const load = () => import('../adapters/opa/targets.js');"),
    internal('runtime/intent.ts', "import { globToRegExp } from '../adapters/native/conditions.js';"),
    internal('runtime/x.ts', "import type { DecisionEngine } from '../adapters/engine.js';"),
    internal('agent/x.ts', "import { Run } from '../runtime/run.js';"),
    internal('agent/x.ts', "import type { PolicyIR } from '../compiler/ir.js';"),
    internal('agent/x.ts', "const m = await import('../verify/solver.js');"),
    internal('mcp/x.ts', "import { NativeEvaluator } from '../evaluator.js';"),
    internal('integrations/openai-agents/x.ts', "import { TokenSigner } from '../../runtime/tokens.js';"),
    internal('distribution/x.ts', "export * from '../adapters/opa/bundle.js';"),
    internal('distribution/x.ts', "export { hashJson } from '../compiler/hash.js';"),
  ],
});
