/** Shared fixtures of the agent tests: a policy over a temp workspace, real file tools, a fake clock, Apes closed after each test. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { Ape } from '../../src/agent/index.js';

/** The Apes a test file opens (push each one): every one is closed after each test. */
export function closedAfterEach(): Ape[] {
  const apes: Ape[] = [];
  afterEach(async () => {
    for (const ape of apes.splice(0)) await ape.close();
  });
  return apes;
}

/** A temporary workspace, removed by `cleanup`. */
export function workspace(): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'ape-agent-'));
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** A policy confining file tools to `root`: reads and writes allowed, deletes escalate, secrets denied. */
export function agentPolicy(root: string, extra = ''): string {
  return `
name: agent_test
default_decision: deny
rules:
  - id: read-root
    action: [read_file, list_directory, search_files]
    decision: allow
    conditions:
      path: { prefix: ["${root}/"] }
  - id: write-root
    action: [write_file, append_file]
    decision: allow
    conditions:
      path: { prefix: ["${root}/"] }
  - id: delete-escalates
    action: delete_file
    decision: escalate
    conditions:
      path: { prefix: ["${root}/"] }
  - id: no-secrets
    action: [read_file, write_file, delete_file]
    decision: deny
    conditions:
      path: { allowlist: ["*.secret"] }
${extra}`;
}

/** A fake clock tests move by hand. */
export function fakeClock(start = Date.UTC(2026, 0, 1)): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}
