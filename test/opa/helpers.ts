/** Test helpers for the OPA tests: free loopback ports, a real `opa run -s` started and stopped by the test, temp dirs. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findOpa } from '../../src/adapters/opa/cli.js';
export { freePort } from '../setup/ports.js';
import { freePort } from '../setup/ports.js';


/** A running OPA server. */
export interface RunningOpa {
  url: string;
  process: ChildProcess;
  /** Everything OPA logged so far. */
  logs(): string;
  stop(): Promise<void>;
}

/** Starts `opa run -s` on a free loopback port with extra arguments, and waits until /health answers. */
export async function startOpa(args: readonly string[], options: { waitFor?: 'health' | 'none' } = {}): Promise<RunningOpa> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(findOpa(), ['run', '-s', '--addr', `127.0.0.1:${port}`, '--log-level', 'error', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running: RunningOpa = {
    url,
    process: child,
    logs: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
  if (options.waitFor === 'none') return running;
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`opa exited: ${output}`);
    try {
      const r = await fetch(`${url}/health`);
      if (r.status === 200) return running;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await running.stop();
  throw new Error(`opa did not become healthy: ${output}`);
}

/** A fresh temporary directory and its remover. */
export function tempDir(prefix = 'ape-opa-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
