/** Regenerates the golden IR fixtures of the example policies: `npx tsx scripts/gen-ir-fixtures.ts [--check]`. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compilePolicyFile } from '../src/compiler/compile.js';
import { irJson } from '../src/compiler/targets.js';
import { isMain, ROOT, syncGenerated } from './generated.js';

/** The golden IR file of every policy in policies/: path -> content. */
export function generatedIr(): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of readdirSync(join(ROOT, 'policies')).filter((f) => f.endsWith('.yaml')).sort()) {
    out.set(join('test/fixtures/ir', file.replace(/\.yaml$/, '.json')), irJson(compilePolicyFile(join(ROOT, 'policies', file))));
  }
  return out;
}

if (isMain(import.meta.url)) syncGenerated(generatedIr());
