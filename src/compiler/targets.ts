/** Compile targets by name: what `ape compile --target <name>` can emit. Back ends register here. */
import type { CompiledPolicy } from './compile.js';
import { canonicalJson } from './hash.js';

/** Options every target receives from the CLI. */
export interface TargetOptions {
  /** Output path (`-o`): a file or a directory, as the target documents. */
  output?: string;
  /** Target-specific options (signing key, algorithm...). */
  [option: string]: string | boolean | undefined;
}

/** What a target produced: text for stdout when there is no output path, and the files it wrote. */
export interface TargetResult {
  stdout?: string;
  written: string[];
}

/** One compile target. */
export interface CompileTarget {
  description: string;
  emit(policy: CompiledPolicy, options: TargetOptions): Promise<TargetResult>;
}

const targets = new Map<string, CompileTarget>();

/** Registers a target under a name. */
export function registerTarget(name: string, target: CompileTarget): void {
  targets.set(name, target);
}

/** The target with this name, if any. */
export function getTarget(name: string): CompileTarget | undefined {
  return targets.get(name);
}

/** Names of the registered targets. */
export function targetNames(): string[] {
  return [...targets.keys()];
}

/** The IR as stable, readable JSON (keys in canonical order, two-space indent). */
export function irJson(policy: CompiledPolicy): string {
  return `${JSON.stringify(JSON.parse(canonicalJson({ hash: policy.hash, ir: policy.ir })), null, 2)}\n`;
}

registerTarget('ir', {
  description: 'the IR as JSON ({"hash", "ir"})',
  async emit(policy, options) {
    const text = irJson(policy);
    if (!options.output) return { stdout: text, written: [] };
    const { writeFileSync } = await import('node:fs');
    writeFileSync(options.output, text);
    return { written: [options.output] };
  },
});
