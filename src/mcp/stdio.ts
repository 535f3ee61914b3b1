/** Stdio MCP transports with a lean read path (JSON-RPC lines, see json-lines.ts) and one write per message: the proxy's side to its client, and to the server it starts. */
import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { jsonRpcLine, JsonRpcLineReader } from './json-lines.js';

const SENT = Promise.resolve();

/** Writes one message as one line; resolves at once, or when the stream drained if it is full. */
function writeLine(stream: Writable, message: JSONRPCMessage): Promise<void> {
  return stream.write(jsonRpcLine(message)) ? SENT : new Promise((resolve) => stream.once('drain', () => resolve()));
}

/**
 * The server side of stdio MCP on this process's stdin and stdout (or the given streams), as the
 * SDK's `StdioServerTransport` behaves: a line that is not JSON-RPC is reported to `onerror` and
 * skipped; a line over the size limit is an error that closes the transport.
 */
export class StdioLineServerTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T) => void;
  readonly #input: Readable;
  readonly #output: Writable;
  readonly #reader = new JsonRpcLineReader();
  #started = false;

  constructor(input: Readable = process.stdin, output: Writable = process.stdout) {
    this.#input = input;
    this.#output = output;
  }

  readonly #onData = (chunk: Buffer): void => {
    try {
      this.#reader.push(chunk, (message) => this.onmessage?.(message), (error) => this.onerror?.(error));
    } catch (error) {
      this.onerror?.(error as Error);
      void this.close();
    }
  };

  readonly #onError = (error: Error): void => {
    this.onerror?.(error);
  };

  /** Starts reading the input. */
  async start(): Promise<void> {
    if (this.#started) throw new Error('the stdio transport is already started');
    this.#started = true;
    this.#input.on('data', this.#onData);
    this.#input.on('error', this.#onError);
  }

  /** Sends one message. */
  send(message: JSONRPCMessage): Promise<void> {
    return writeLine(this.#output, message);
  }

  /** Stops reading (pausing the input when nothing else reads it) and reports the close. */
  async close(): Promise<void> {
    this.#input.off('data', this.#onData);
    this.#input.off('error', this.#onError);
    if (this.#input.listenerCount('data') === 0) this.#input.pause();
    this.#reader.clear();
    this.onclose?.();
  }
}

/** How to start a stdio MCP server. */
export interface StdioChildParams {
  command: string;
  args: string[];
  /** The complete environment of the child. */
  env: Record<string, string>;
  cwd?: string;
  /** The child's stderr: `inherit`, `pipe` (readable at once from {@link StdioChildTransport.stderr}) or `ignore`. */
  stderr: 'inherit' | 'pipe' | 'ignore';
}

/**
 * The client side of stdio MCP to a child process it starts, as the SDK's `StdioClientTransport`
 * behaves on POSIX: `start` resolves once the process is spawned (rejects if it cannot be); the
 * process ending closes the transport; `close` ends its stdin, then sends SIGTERM and SIGKILL
 * after two seconds each if it does not exit. A line that is not JSON-RPC is reported to
 * `onerror` and skipped; a line over the size limit is an error that closes the transport.
 */
export class StdioChildTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T) => void;
  readonly #params: StdioChildParams;
  readonly #reader = new JsonRpcLineReader();
  readonly #stderr: PassThrough | undefined;
  #child: ChildProcess | undefined;
  #started = false;

  constructor(params: StdioChildParams) {
    this.#params = params;
    if (params.stderr === 'pipe') this.#stderr = new PassThrough();
  }

  /** The child's stderr when it is piped (available before `start`). */
  get stderr(): Readable | null {
    return this.#stderr ?? null;
  }

  /** Spawns the child; resolves once it runs. */
  start(): Promise<void> {
    if (this.#started) return Promise.reject(new Error('the stdio transport is already started'));
    this.#started = true;
    return new Promise((resolve, reject) => {
      const p = this.#params;
      const child = spawn(p.command, p.args, { env: p.env, stdio: ['pipe', 'pipe', p.stderr], shell: false, ...(p.cwd !== undefined ? { cwd: p.cwd } : {}) });
      this.#child = child;
      child.on('error', (error) => {
        reject(error);
        this.onerror?.(error);
      });
      child.on('spawn', () => resolve());
      child.on('close', () => {
        this.#child = undefined;
        this.onclose?.();
      });
      child.stdin?.on('error', (error) => this.onerror?.(error));
      child.stdout?.on('data', (chunk: Buffer) => {
        try {
          this.#reader.push(chunk, (message) => this.onmessage?.(message), (error) => this.onerror?.(error));
        } catch (error) {
          this.onerror?.(error as Error);
          void this.close();
        }
      });
      child.stdout?.on('error', (error) => this.onerror?.(error));
      if (this.#stderr && child.stderr) child.stderr.pipe(this.#stderr);
    });
  }

  /** Sends one message. */
  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.#child?.stdin;
    if (!stdin) return Promise.reject(new Error('Not connected'));
    return writeLine(stdin, message);
  }

  /** Ends the child: stdin closed, then SIGTERM, then SIGKILL, two seconds apart while it lives. */
  async close(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child) {
      const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
      const within = (ms: number) => Promise.race([closed, new Promise<void>((resolve) => setTimeout(resolve, ms).unref())]);
      try {
        child.stdin?.end();
      } catch {
        // already closed
      }
      await within(2000);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await within(2000);
      }
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    this.#reader.clear();
  }
}
