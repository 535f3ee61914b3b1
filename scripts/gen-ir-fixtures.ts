/** Regenerates the golden IR fixtures of the example policies: `npx tsx scripts/gen-ir-fixtures.ts`. */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compilePolicyFile } from '../src/compiler/compile.js';
import { irJson } from '../src/compiler/targets.js';

const root = new URL('..', import.meta.url).pathname;
for (const file of readdirSync(join(root, 'policies')).filter((f) => f.endsWith('.yaml'))) {
  const policy = compilePolicyFile(join(root, 'policies', file));
  writeFileSync(join(root, 'test/fixtures/ir', file.replace(/\.yaml$/, '.json')), irJson(policy));
}
