/** Variable expansion as each client does it: `${VAR:-default}` (Claude Code), `${env:X}` and `${workspaceFolder}` (Cursor, VS Code). */
import { basename, sep } from 'node:path';
import type { ConfigFormat } from './types.js';

/** What variables resolve against. */
export interface VariableScope {
  env: Readonly<Record<string, string | undefined>>;
  workspaceFolder: string;
  userHome: string;
  /** VS Code `inputs` by id (they are prompted for, so never resolved). */
  inputs: ReadonlyMap<string, string>;
}

/** The expanded text and the variables that could not be resolved (left as written). */
export interface Expansion {
  value: string;
  unresolved: string[];
}

const CLAUDE_CODE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const EDITOR = /\$\{([A-Za-z]+)(?::([^}]*))?\}/g;

/** Expands the variables of one string as the client of `format` would. */
export function expand(text: string, format: ConfigFormat, scope: VariableScope): Expansion {
  const unresolved: string[] = [];
  if (format === 'claude-desktop') return { value: text, unresolved };
  if (format === 'claude-code') {
    const value = text.replace(CLAUDE_CODE, (whole, name: string, fallback: string | undefined) => {
      const v = scope.env[name];
      if (v !== undefined) return v;
      if (fallback !== undefined) return fallback;
      unresolved.push(`environment variable ${name} is not set and has no default`);
      return whole;
    });
    return { value, unresolved };
  }
  const value = text.replace(EDITOR, (whole, kind: string, arg: string | undefined) => {
    const resolved = editorVariable(kind, arg, format, scope);
    if (resolved.value !== undefined) return resolved.value;
    unresolved.push(resolved.why);
    return whole;
  });
  return { value, unresolved };
}

function editorVariable(kind: string, arg: string | undefined, format: ConfigFormat, scope: VariableScope): { value?: string; why: string } {
  if (kind === 'env' && arg !== undefined) {
    const v = scope.env[arg];
    return v !== undefined ? { value: v, why: '' } : { why: `environment variable ${arg} is not set` };
  }
  if (format === 'windsurf') return { why: `\${${kind}${arg !== undefined ? `:${arg}` : ''}} is not a Windsurf variable` };
  if (arg === undefined) {
    if (kind === 'workspaceFolder') return { value: scope.workspaceFolder, why: '' };
    if (kind === 'workspaceFolderBasename') return { value: basename(scope.workspaceFolder), why: '' };
    if (kind === 'userHome') return { value: scope.userHome, why: '' };
    if (kind === 'pathSeparator') return { value: sep, why: '' };
  }
  if (kind === 'input' && arg !== undefined && format === 'vscode') {
    const description = scope.inputs.get(arg);
    return { why: `input '${arg}' is prompted for by VS Code${description ? ` (${description})` : ''}; it is left as written` };
  }
  return { why: `unknown variable \${${kind}${arg !== undefined ? `:${arg}` : ''}}` };
}
