/** AgentDojo cases as extracted by `extract.py`: the replay's view (prompt and calls only) kept apart from the scoring fields. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The versions replayed. */
export const VERSIONS = ['v1', 'v1.2.2'] as const;
export type Version = (typeof VERSIONS)[number];

/** JSON as the extraction writes it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** One recorded tool call: what the model asked for and what the tool returned. */
export interface RecordedCall {
  function: string;
  args: { [key: string]: Json };
  /** The tool's return value (JSON); null when the call failed. */
  result: Json;
  error: string | null;
}

/** What the replay may see of a case: the user's prompt and the calls in order. Nothing that tells benign from attack. */
export interface ReplayCase {
  prompt: string;
  calls: RecordedCall[];
}

/** What only the scoring sees. */
export interface CaseLabel {
  version: Version;
  suite: string;
  kind: 'benign' | 'attack';
  user_task: string;
  injection_task: string | null;
  /** Per call (same order as `ReplayCase.calls`): whether it is one of the attacker's calls. */
  malicious: boolean[];
}

/** One case: the replay's view and the scoring's, from one line. */
export interface Case {
  replay: ReplayCase;
  label: CaseLabel;
}

/** The cache folder `scripts/install-agentdojo.sh` fills. */
export function cacheDir(root: string): string {
  return join(root, '.cache', 'agentdojo');
}

function call(raw: { [key: string]: Json }): RecordedCall {
  return { function: String(raw.function), args: (raw.args ?? {}) as { [key: string]: Json }, result: raw.result ?? null, error: (raw.error as string | null) ?? null };
}

/** Reads every case of a version; throws with the command to run when the extraction is missing. */
export function loadCases(root: string, version: Version): Case[] {
  const file = join(cacheDir(root), `cases-${version}.jsonl`);
  if (!existsSync(file)) throw new Error(`${file} is missing: run bash scripts/install-agentdojo.sh`);
  const out: Case[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const raw = JSON.parse(line) as { [key: string]: Json };
    const kind = raw.kind === 'attack' ? 'attack' : 'benign';
    const benignCalls = ((kind === 'benign' ? raw.trace : raw.prefix) ?? []) as { [key: string]: Json }[];
    const attackCalls = (kind === 'attack' ? (raw.malicious_calls ?? []) : []) as { [key: string]: Json }[];
    out.push({
      replay: { prompt: String(raw.prompt), calls: [...benignCalls, ...attackCalls].map(call) },
      label: {
        version,
        suite: String(raw.suite),
        kind,
        user_task: String(raw.user_task),
        injection_task: kind === 'attack' ? String(raw.injection_task) : null,
        malicious: [...benignCalls.map(() => false), ...attackCalls.map(() => true)],
      },
    });
  }
  return out;
}

/** A suite's tools: name, description and JSON Schema of the parameters. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: { [key: string]: Json };
}

/** Reads the tools of every suite of a version. */
export function loadTools(root: string, version: Version): Record<string, ToolSpec[]> {
  const file = join(cacheDir(root), `tools-${version}.json`);
  if (!existsSync(file)) throw new Error(`${file} is missing: run bash scripts/install-agentdojo.sh`);
  return (JSON.parse(readFileSync(file, 'utf8')) as { suites: Record<string, ToolSpec[]> }).suites;
}

/** What the deployer knows of the user per suite (extract.py `deployer_data`): recorded as the `system` input. */
export function loadDeployer(root: string, version: Version): Record<string, Json> {
  const file = join(cacheDir(root), `tools-${version}.json`);
  if (!existsSync(file)) throw new Error(`${file} is missing: run bash scripts/install-agentdojo.sh`);
  return (JSON.parse(readFileSync(file, 'utf8')) as { deployer?: Record<string, Json> }).deployer ?? {};
}
