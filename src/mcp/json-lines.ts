/** Newline-delimited JSON-RPC as stdio MCP carries it: lines cut from a byte stream, each parsed and checked as a JSON-RPC message. */
import { StringDecoder } from 'node:string_decoder';
import { JSONRPCMessageSchema, RELATED_TASK_META_KEY, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** The longest line (in characters) a reader holds, as the SDK's stdio transports (10 MiB). */
export const MAX_LINE_LENGTH = 10 * 1024 * 1024;

const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);
const RESULT_KEYS = new Set(['jsonrpc', 'id', 'result']);

/** Whether a value is a JSON object (not null, not an array). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function onlyKeys(o: Record<string, unknown>, allowed: ReadonlySet<string>): boolean {
  for (const key in o) if (!allowed.has(key)) return false;
  return true;
}

/** A `_meta` the quick check takes as it is: absent, or an object with no progress token and no related task. */
function plainMeta(holder: Record<string, unknown>): boolean {
  const meta = holder['_meta'];
  return meta === undefined || (isRecord(meta) && !('progressToken' in meta) && !(RELATED_TASK_META_KEY in meta));
}

/**
 * Whether a parsed value is plainly a JSON-RPC request or result response, as the SDK's schema
 * defines them (strict keys, `jsonrpc: "2.0"`, a safe integer or string id, an object `params` or
 * `result`). These two shapes carry every tools/call; for them this replaces the schema's union
 * parse, which tries each kind of message in turn.
 */
export function isPlainRequestOrResult(value: unknown): value is JSONRPCMessage {
  if (!isRecord(value)) return false;
  const v = value;
  if (v['jsonrpc'] !== '2.0') return false;
  const id = v['id'];
  if (typeof id !== 'string' && !Number.isSafeInteger(id)) return false;
  if ('method' in v) {
    if (typeof v['method'] !== 'string' || !onlyKeys(v, REQUEST_KEYS)) return false;
    const params = v['params'];
    return params === undefined || (isRecord(params) && plainMeta(params));
  }
  const result = v['result'];
  return isRecord(result) && onlyKeys(v, RESULT_KEYS) && plainMeta(result);
}

/**
 * Parses one line into a JSON-RPC message. Requests and result responses of the plain shape are
 * checked by hand; every other message goes through the SDK's `JSONRPCMessageSchema`. Throws
 * (a `SyntaxError` or the schema's error) when the line is not a JSON-RPC message.
 */
export function parseJsonRpcLine(line: string): JSONRPCMessage {
  const value: unknown = JSON.parse(line.endsWith('\r') ? line.slice(0, -1) : line);
  if (isPlainRequestOrResult(value)) return value;
  return JSONRPCMessageSchema.parse(value);
}

/** One JSON-RPC message as a line. */
export function jsonRpcLine(message: JSONRPCMessage): string {
  return `${JSON.stringify(message)}\n`;
}

/**
 * Cuts a byte stream into lines (UTF-8 split across chunks is kept whole) and parses each. A line
 * that is not a JSON-RPC message is reported to `onError` and skipped; a line longer than the
 * limit is an error thrown by `push`, after which the reader is empty.
 */
export class JsonRpcLineReader {
  readonly #decoder = new StringDecoder('utf8');
  readonly #maxLength: number;
  #pending = '';

  constructor(maxLength = MAX_LINE_LENGTH) {
    this.#maxLength = maxLength;
  }

  /** Adds a chunk; every complete line is handed to `onMessage` (its parse error, or what `onMessage` threw, to `onError`). */
  push(chunk: Buffer, onMessage: (message: JSONRPCMessage) => void, onError: (error: Error) => void): void {
    const text = this.#pending + this.#decoder.write(chunk);
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      const line = text.slice(start, end);
      start = end + 1;
      if (line.length > this.#maxLength) {
        this.clear();
        throw new Error(`a message longer than ${this.#maxLength} characters`);
      }
      try {
        onMessage(parseJsonRpcLine(line));
      } catch (error) {
        onError(error as Error);
      }
    }
    this.#pending = start === 0 ? text : text.slice(start);
    if (this.#pending.length > this.#maxLength) {
      this.clear();
      throw new Error(`a message longer than ${this.#maxLength} characters`);
    }
  }

  /** Drops what is buffered. */
  clear(): void {
    this.#pending = '';
    this.#decoder.end();
  }
}
