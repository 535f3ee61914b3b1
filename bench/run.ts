/** Runs every benchmark under bench/ in turn (each writes bench/results/<name>.json and .md). */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const here = new URL('.', import.meta.url).pathname;
const skip = new Set(['run.ts', 'lib.ts', 'generate.ts', 'agentdojo.ts']);
const only = process.argv.slice(2);
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !skip.has(f))
  .filter((f) => only.length === 0 || only.includes(f.replace(/\.ts$/, '')))
  .sort();
let failed = 0;
for (const file of benches) {
  console.log(`\n== bench/${file}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', `${here}${file}`], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.error(`bench/${file} failed (exit ${r.status})`);
  }
}
process.exitCode = failed ? 1 : 0;
