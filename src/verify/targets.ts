/** Registers the verification compile targets: `model` (JSON), `smt` (SMT-LIB 2) and `tla` (TLA+). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineBuiltinTarget } from '../compiler/targets.js';
import { smtExport } from './export-smt.js';
import { verificationModel } from './model.js';
import { modelCheckingFiles, tokenSpec } from './tla.js';

defineBuiltinTarget('model', function emit(policy, options) {
    const text = `${JSON.stringify(verificationModel(policy), null, 2)}\n`;
    if (!options.output) return Promise.resolve({ stdout: text, written: [] });
    writeFileSync(options.output, text);
    return Promise.resolve({ written: [options.output] });
  });

defineBuiltinTarget('smt', function emit(policy, options) {
    const text = smtExport(policy);
    if (!options.output) return Promise.resolve({ stdout: text, written: [] });
    writeFileSync(options.output, text);
    return Promise.resolve({ written: [options.output] });
  });

defineBuiltinTarget('tla', function emit(policy, options) {
    const spec = tokenSpec();
    const mc = modelCheckingFiles(policy);
    if (!options.output) return Promise.resolve({ stdout: `${spec}\n${mc.module}\n${mc.config}`, written: [] });
    mkdirSync(options.output, { recursive: true });
    const files: [string, string][] = [
      [join(options.output, 'ApeTokens.tla'), spec],
      [join(options.output, 'MCApeTokens.tla'), mc.module],
      [join(options.output, 'MCApeTokens.cfg'), mc.config],
    ];
    for (const [file, text] of files) writeFileSync(file, text);
    return Promise.resolve({ written: files.map(([f]) => f) });
  });
