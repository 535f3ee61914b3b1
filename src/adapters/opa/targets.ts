/** Registers the Rego back end's compile targets: `rego`, `bundle` and `wasm`. */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CompiledPolicy } from '../../compiler/compile.js';
import { emitRego, emitRegoTests } from '../../compiler/rego/index.js';
import { defineBuiltinTarget, type TargetOptions } from '../../compiler/targets.js';
import { policyBundle } from './bundle.js';
import { BundleOptionError } from './errors.js';
import { signingAlgorithm, type SigningOptions } from './signing.js';
import { buildWasmBundle } from './wasm.js';
import { nativeDecide } from '../native/index.js';

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function writeFile(path: string, content: string | Buffer): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  return path;
}

function requireOutput(options: TargetOptions, target: string): string {
  if (typeof options.output !== 'string' || options.output === '') throw new BundleOptionError(`--target ${target} writes a tar.gz: give it with -o <file>`);
  return options.output;
}

function signing(options: TargetOptions): SigningOptions | undefined {
  const keyFile = options['signingKey'];
  const alg = options['signingAlg'];
  if (typeof keyFile !== 'string') {
    if (typeof alg === 'string') throw new BundleOptionError('--signing-alg needs --signing-key');
    return undefined;
  }
  let key: string;
  try {
    key = readFileSync(keyFile, 'utf8');
  } catch {
    throw new BundleOptionError(`cannot read the signing key ${keyFile}`);
  }
  const algorithm = signingAlgorithm(typeof alg === 'string' ? alg : 'RS256');
  return { key: algorithm.startsWith('HS') ? key.replace(/\r?\n$/, '') : key, algorithm };
}

/** Emits `<policy>.rego` and `<policy>_test.rego` into a directory, or the module alone to a file or stdout. */
async function emitRegoTarget(policy: CompiledPolicy, options: TargetOptions) {
  const rego = emitRego(policy);
  const output = options.output;
  if (typeof output !== 'string' || output === '') return { stdout: rego, written: [] };
  if (isDirectory(output) || output.endsWith('/')) {
    return {
      written: [writeFile(join(output, `${policy.ir.name}.rego`), rego), writeFile(join(output, `${policy.ir.name}_test.rego`), emitRegoTests(policy, nativeDecide(policy)))],
    };
  }
  return Promise.resolve({ written: [writeFile(output, rego)] });
}

defineBuiltinTarget('rego', emitRegoTarget);

defineBuiltinTarget('bundle', async function emit(policy, options) {
    const output = requireOutput(options, 'bundle');
    const sign = signing(options);
    return { written: [writeFile(output, await policyBundle(policy, sign ? { signing: sign } : {}))] };
  });

defineBuiltinTarget('wasm', async function emit(policy, options) {
    const output = requireOutput(options, 'wasm');
    return { written: [writeFile(output, await buildWasmBundle(policy))] };
  });
