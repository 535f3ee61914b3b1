#!/usr/bin/env node
// The `ape` command: runs the compiled CLI (built by `npm run build`; the published package ships it built).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('ape: not built yet; run `npm run build` in the APE folder\n');
  process.exit(1);
}
await import(main.href);
