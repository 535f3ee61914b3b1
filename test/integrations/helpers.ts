/** Shared fixtures of the framework integration tests: a workspace, a policy over it, real file tools, a fake clock. */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ape, type ApeOptions } from '../../src/agent/index.js';
import { MemorySink } from '../../src/runtime/index.js';

/** A temporary workspace, removed by `cleanup`. */
export function workspace(): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'ape-int-'));
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** Reads and writes under `root` allowed, deletes under it escalate, `*.secret` denied, everything else denied by default. */
export function filePolicy(root: string): string {
  return `
name: integration_test
default_decision: deny
rules:
  - id: read-root
    action: read_file
    decision: allow
    conditions:
      path: { prefix: ["${root}/"] }
  - id: write-root
    action: write_file
    decision: allow
    conditions:
      path: { prefix: ["${root}/"] }
  - id: delete-escalates
    action: delete_file
    decision: escalate
    description: deleting needs a human
    conditions:
      path: { prefix: ["${root}/"] }
  - id: no-secrets
    action: [read_file, write_file, delete_file]
    decision: deny
    description: secrets are off limits
    conditions:
      path: { allowlist: ["*.secret"] }
`;
}

/** A fake clock tests move by hand. */
export function fakeClock(start = Date.UTC(2026, 0, 1)): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

/** An Ape on the file policy with an in-memory audit sink. */
export async function makeApe(root: string, options: ApeOptions = {}): Promise<{ ape: Ape; audit: MemorySink }> {
  const audit = new MemorySink();
  const ape = await Ape.fromPolicy(filePolicy(root), { audit: [audit], ...options });
  return { ape, audit };
}

/** Real file operations; each run is logged in `runs`. */
export function fileOps(runs: string[]) {
  return {
    read: async (p: { path: string }): Promise<string> => {
      runs.push(`read ${p.path}`);
      return readFile(p.path, 'utf8');
    },
    write: async (p: { path: string; content: string }): Promise<string> => {
      runs.push(`write ${p.path}`);
      await writeFile(p.path, p.content);
      return `wrote ${p.content.length} bytes`;
    },
    remove: async (p: { path: string }): Promise<string> => {
      runs.push(`delete ${p.path}`);
      await unlink(p.path);
      return `deleted ${p.path}`;
    },
  };
}
