/** Test helpers for distribution: key pairs, editable policy copies, OPA decisions over HTTP, a scriptable loopback HTTP server, waiting. */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { compilePolicySource, type CompiledPolicy, type JsonObject } from '../../src/compiler/index.js';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const SCOPED_SOURCE = readFileSync(join(ROOT, 'policies/scoped_access.yaml'), 'utf8');

/** scoped_access at another version, with `/workspace/` moved to `root` (so read_file /workspace/... changes decision). */
export function scopedVariant(version: string, root = '/workspace/'): string {
  return SCOPED_SOURCE.replace('version: "2.0.0"', `version: "${version}"`).replaceAll('/workspace/', root);
}

/** Compiles policy text. */
export function compiled(source: string): CompiledPolicy {
  return compilePolicySource(source, 'test.yaml');
}

/** Writes a file atomically (write + rename), as editors and deploy tools do. */
export function replaceFile(path: string, content: string | Buffer): void {
  writeFileSync(`${path}.tmp`, content);
  renameSync(`${path}.tmp`, path);
}

/** A fresh RSA key pair as PEM. */
export function rsaKeys(): { privateKey: string; publicKey: string } {
  return generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
}

/** Asks OPA for the decision of `ape.<policy>` on a request as written (the standalone Rego's entry point); undefined while no bundle is loaded. */
export async function opaDecision(opaUrl: string, policy: CompiledPolicy, request: { action: string; params: JsonObject }): Promise<{ decision: string; policy_hash: string } | undefined> {
  const input = request;
  const response = await fetch(`${opaUrl}/v1/data/ape/${policy.ir.name}/decision`, { method: 'POST', body: JSON.stringify({ input }), headers: { 'content-type': 'application/json' } });
  const body = (await response.json()) as { result?: { decision: string; policy_hash: string } };
  return body.result;
}

/** Polls `probe` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000, stepMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** A loopback HTTP server whose answer the test scripts; counts requests. */
export interface ScriptedServer {
  url: string;
  requests: IncomingMessage[];
  respond: (req: IncomingMessage, res: ServerResponse) => void;
  close(): Promise<void>;
}

/** Starts a scripted server on `port` (0 = free). */
export async function scriptedServer(respond: ScriptedServer['respond'], port = 0): Promise<ScriptedServer> {
  const state = { respond };
  const requests: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req);
    state.respond(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${actual}`,
    requests,
    get respond() {
      return state.respond;
    },
    set respond(fn) {
      state.respond = fn;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
