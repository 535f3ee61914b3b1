/** Regenerates rego/<policy>.rego and rego/<policy>_test.rego for every example policy: `npx tsx scripts/gen-rego.ts [--check]`. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMain, syncGenerated } from './generated.js';
import { compilePolicyFile } from '../src/compiler/compile.js';
import { emitRego, emitRegoTests } from '../src/compiler/rego/index.js';
import { nativeDecide } from '../src/adapters/native/index.js';

const root = fileURLToPath(new URL('../', import.meta.url));

/** The generated files for every policy in policies/: path -> content. */
export function generatedRego(): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of readdirSync(join(root, 'policies')).filter((f) => f.endsWith('.yaml')).sort()) {
    const policy = compilePolicyFile(join(root, 'policies', file));
    out.set(join('rego', `${policy.ir.name}.rego`), emitRego(policy));
    out.set(join('rego', `${policy.ir.name}_test.rego`), emitRegoTests(policy, nativeDecide(policy)));
  }
  return out;
}

if (isMain(import.meta.url)) syncGenerated(generatedRego());
