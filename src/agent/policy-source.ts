/** Loads the policy an `Ape` runs on: a file path, YAML text, or an already compiled policy. */
import { existsSync } from 'node:fs';
import { compilePolicyFile, compilePolicySource, type CompiledPolicy } from '../compiler/index.js';
import { PolicyLoadError } from '../index.js';

/** What `Ape.fromPolicy` accepts: a path (an existing file, or a name ending in `.yaml`/`.yml`), YAML text, or a compiled policy. */
export type PolicyInput = string | CompiledPolicy;

/** Compiles the policy input. Throws `PolicyLoadError` or `PolicyCompileError`. */
export function loadPolicy(policy: PolicyInput): CompiledPolicy {
  if (typeof policy === 'string') {
    const oneLine = !policy.includes('\n');
    if (oneLine && (/\.ya?ml$/i.test(policy.trim()) || existsSync(policy))) return compilePolicyFile(policy.trim());
    return compilePolicySource(policy, '<policy>');
  }
  if (isCompiled(policy)) return policy;
  throw new PolicyLoadError('<policy>', 'a policy must be a file path, YAML text or a compiled policy');
}

function isCompiled(value: unknown): value is CompiledPolicy {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Partial<CompiledPolicy>;
  return typeof v.hash === 'string' && v.ir !== null && typeof v.ir === 'object' && typeof v.ir.rules === 'object';
}
