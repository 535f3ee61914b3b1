/** A real redis-server for tests: spawned on a free loopback port without persistence, stopped (or restarted) by the test. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

/** A running test server. */
export interface TestRedis {
  url: string;
  port: number;
  /** Stops the server (SIGTERM, waits for exit); `restart` brings it back. */
  stop(): Promise<void>;
  /** Stops the server for good and removes its folder. */
  dispose(): Promise<void>;
  /** Starts it again on the same port (empty: nothing is persisted). */
  restart(): Promise<void>;
  /** Freezes the process (SIGSTOP): connections stay open, nothing answers. */
  pause(): void;
  /** Unfreezes it (SIGCONT). */
  resume(): void;
}

const BINARY = process.env['APE_REDIS_SERVER'] ?? 'redis-server';

/** Throws a clear error when redis-server is not installed (the Redis tests must not skip silently). */
export function requireRedisServer(): void {
  const probe = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `redis-server not found (${probe.error?.message ?? `exit ${String(probe.status)}`}): the Redis store tests need a real server. ` +
        'Install it (Debian: apt-get install -y redis-server; .ci/run does this) or point APE_REDIS_SERVER at the binary.',
    );
  }
}


/** Sends PING over a raw socket; resolves true on +PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let answer = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      answer += chunk.toString('utf8');
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
  });
}

/** Starts redis-server on a free loopback port and waits until it answers PING. */
export async function startRedis(): Promise<TestRedis> {
  requireRedisServer();
  const dir = mkdtempSync(join(tmpdir(), 'ape-redis-'));
  let child: ChildProcess | undefined;
  let port = 0;
  const launch = async (): Promise<void> => {
    const proc = spawn(BINARY, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = proc;
    let stderr = '';
    proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    for (let i = 0; i < 500; i++) {
      if (await ping(port)) return;
      if (proc.exitCode !== null) break;
      await Promise.race([new Promise((r) => setTimeout(r, 20)), exited]);
    }
    proc.kill('SIGKILL');
    throw new Error(`redis-server did not start on port ${port}: ${stderr.trim() || 'no answer to PING'}`);
  };
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    port = await freePort();
    try {
      await launch();
      lastError = undefined;
      break;
    } catch (error) {
      lastError = error;
    }
  }
  if (lastError) throw lastError;
  const kill = () => child?.kill('SIGKILL');
  process.once('exit', kill);
  const stop = async (): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGCONT');
    proc.kill('SIGTERM');
    await exited;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    dispose: async () => {
      await stop();
      process.removeListener('exit', kill);
      rmSync(dir, { recursive: true, force: true });
    },
    restart: async () => {
      await stop();
      await launch();
    },
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
  };
}
