/** The `cedar` compile target: `ape compile <policy> --target cedar -o <dir>` writes the policy set and schema. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { defineBuiltinTarget } from '../targets.js';
import { compileCedar, compileCedarRaw } from './index.js';

/** The file names the target writes for a policy file. */
export function cedarFileNames(policyFile: string): { policies: string; schema: string; schemaJson: string; raw: string } {
  const name = basename(policyFile).replace(/\.(ya?ml|json)$/i, '');
  return { policies: `${name}.cedar`, schema: `${name}.cedarschema`, schemaJson: `${name}.cedarschema.json`, raw: `${name}.raw.cedar` };
}

defineBuiltinTarget('cedar', function emit(policy, options) {
    try {
      const artifacts = compileCedar(policy);
      const schemaJson = `${JSON.stringify(artifacts.schemaJson, null, 2)}\n`;
      if (!options.output) return Promise.resolve({ stdout: `${artifacts.policies}\n${artifacts.schemaText}`, written: [] });
      const names = cedarFileNames(policy.file);
      mkdirSync(options.output, { recursive: true });
      const written: string[] = [];
      for (const [file, text] of [
        [names.policies, artifacts.policies],
        [names.schema, artifacts.schemaText],
        [names.schemaJson, schemaJson],
        [names.raw, compileCedarRaw(policy)],
      ] as const) {
        const path = join(options.output, file);
        writeFileSync(path, text);
        written.push(path);
      }
      return Promise.resolve({ written });
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  });
