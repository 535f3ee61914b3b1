/** The `xacml` compile target: `ape compile <policy> --target xacml [-o <dir>]` writes `<name>.xml`. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { defineBuiltinTarget } from '../targets.js';
import { compileXacml } from './index.js';

/** The file name the target writes for a policy file. */
export function xacmlFileName(policyFile: string): string {
  return `${basename(policyFile).replace(/\.(ya?ml|json)$/i, '')}.xml`;
}

defineBuiltinTarget('xacml', function emit(policy, options) {
  try {
    const { xml } = compileXacml(policy);
    if (!options.output) return Promise.resolve({ stdout: xml, written: [] });
    mkdirSync(options.output, { recursive: true });
    const path = join(options.output, xacmlFileName(policy.file));
    writeFileSync(path, xml);
    return Promise.resolve({ written: [path] });
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
});
