/** Starts AuthzForce CE's RESTful PDP server (installed by scripts/install-authzforce.sh) on loopback for a test file. */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PDP_PATH, writePdpConfig, type PdpConfigOptions } from '../../src/adapters/xacml/server-config.js';
import { freePort } from './ports.js';

/** The pinned server version (scripts/install-authzforce.sh). */
export const AUTHZFORCE_VERSION = '7.1.0';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The executable jar. */
export const AUTHZFORCE_JAR = join(ROOT, '.tools', 'authzforce', `authzforce-ce-restful-pdp-cxf-spring-boot-server-${AUTHZFORCE_VERSION}.jar`);

/** A running PDP server. */
export interface RunningPdp {
  /** The PDP endpoint (`POST` XACML/JSON requests here). */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts the server with these policies and waits until it answers (at most `timeoutMs`). */
export async function startAuthzforce(policies: PdpConfigOptions['policies'], timeoutMs = 180_000): Promise<RunningPdp> {
  if (!existsSync(AUTHZFORCE_JAR)) throw new Error(`AuthzForce is not installed: run bash scripts/install-authzforce.sh (${AUTHZFORCE_JAR})`);
  const dir = mkdtempSync(join(tmpdir(), 'ape-authzforce-'));
  const port = await freePort();
  const args = writePdpConfig(dir, { port, policies });
  const child = spawn('java', ['-Xmx512m', '-Xss4m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-jar', AUTHZFORCE_JAR, ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    log = (log + chunk).slice(-20_000);
  });
  let exited: number | null = null;
  // If the test process dies without afterAll, the JVM must not outlive it.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', (code) => {
    exited = code ?? -1;
    process.removeListener('exit', reap);
  });
  const url = `http://127.0.0.1:${port}${PDP_PATH}`;
  const stop = async () => {
    if (exited === null) {
      const done = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited !== null) {
      await stop();
      throw new Error(`AuthzForce exited with ${String(exited)}:\n${log}`);
    }
    try {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/xacml+json', accept: 'application/xacml+json' }, body: '{"Request":{"Category":[]}}' });
      await response.text();
      return { url, port, stop };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`AuthzForce did not start within ${timeoutMs} ms:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
