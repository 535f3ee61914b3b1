/** The enforcement proxy: an MCP server in front of an MCP server; every tools/call is decided by APE before it is forwarded. */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  CompleteResultSchema,
  EmptyResultSchema,
  ErrorCode,
  GetPromptRequestSchema,
  GetPromptResultSchema,
  ListPromptsRequestSchema,
  ListPromptsResultSchema,
  ListResourcesRequestSchema,
  ListResourcesResultSchema,
  ListResourceTemplatesRequestSchema,
  ListResourceTemplatesResultSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  ReadResourceResultSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  ToolListChangedNotificationSchema,
  UnsubscribeRequestSchema,
  type CallToolResult,
  type ServerCapabilities,
  type ServerNotification,
} from '@modelcontextprotocol/sdk/types.js';
import { simulate, type JsonObject } from '../../index.js';
import type { Ape, ApprovalHandler } from '../../agent/index.js';
import { plainCopy } from '../../runtime/index.js';
import { toolActionId } from '../action-id.js';
import { McpSetupError, McpToolRefusedError } from '../errors.js';
import { connectUpstream, listAllTools, type Upstream, type UpstreamSpec } from '../upstream.js';
import { elicitationApprover, supportsElicitation, type HandlerExtra } from './approval.js';
import type { Cancellation } from './cancellation.js';
import { takeToolCalls, type DirectCalls, type DirectToolCall } from './downstream.js';
import { outcomeOfError, refusal } from './refusal.js';
import { checkToolResult } from './result.js';
import { policyPins, ToolRegistry } from './tools.js';
import { UpstreamCalls } from './upstream-calls.js';

/** Options of {@link McpProxy.start}. */
export interface McpProxyOptions {
  /** The APE that decides every call (its policy, engine, audit, stores). */
  ape: Ape;
  /** The server behind the proxy. */
  upstream: UpstreamSpec;
  /** Action ids `<prefix>.<tool>` instead of `<tool>`. */
  prefix?: string;
  /** Leave out of tools/list the tools the policy denies whatever their arguments. */
  hideDenied?: boolean;
  /** Time the server has to answer one request (ms, default 60 000). */
  requestTimeoutMs?: number;
  /** Time the server has to start and initialize (ms, default 30 000). */
  connectTimeoutMs?: number;
  /** Time the user has to answer an approval (ms, default 300 000). */
  approvalTimeoutMs?: number;
  /** The server's stderr (stdio): passed through by default. */
  upstreamStderr?: 'inherit' | 'pipe' | 'ignore';
  /** Where the proxy reports what happens beside the protocol (server errors, garbage lines). */
  log?: (line: string) => void;
}

/** Why the proxy stopped: the client left (or `close()` was called), or the server went away. */
export interface ProxyEnd {
  reason: 'closed' | 'upstream-closed';
  message: string;
}

/** The direct tools/calls of each connected session, by its transport (for a transport's own fast path, see http.ts). */
const directCalls = new WeakMap<Transport, DirectCalls>();

/** The direct tools/calls of a session the proxy serves on `transport` (undefined before `connect`). */
export function directCallsOf(transport: Transport): DirectCalls | undefined {
  return directCalls.get(transport);
}

/**
 * One upstream server (one SDK client) shared by any number of downstream sessions (one SDK
 * `Server` each). tools/call: the tool must be listed with its pinned schema and valid
 * arguments, then `ape.call` decides the exact call (token, gate, limits, session, audit) and,
 * on an escalation, asks the client's user through elicitation. Everything else passes through.
 *
 * A tools/call without a progress token takes the direct path: taken off the session's transport
 * and sent to the server as one JSON-RPC request, its raw result checked once (shape and output
 * schema) and passed on. The decision path is the same on both paths; the SDK's path relays progress.
 */
export class McpProxy {
  readonly #options: McpProxyOptions;
  readonly #upstream: Upstream;
  readonly #tools: ToolRegistry;
  readonly #calls: UpstreamCalls;
  readonly #servers = new Set<Server>();
  readonly #inflight = new Set<Promise<unknown>>();
  #refreshing: Promise<void> | undefined;
  #end: ProxyEnd | undefined;
  #resolveDone!: (end: ProxyEnd) => void;
  /** Resolves once, when the proxy stops. */
  readonly done: Promise<ProxyEnd>;

  private constructor(options: McpProxyOptions, upstream: Upstream) {
    this.#options = options;
    this.#upstream = upstream;
    this.#tools = new ToolRegistry(policyPins(options.ape.policy), (name) => this.actionId(name));
    this.#calls = new UpstreamCalls(upstream.transport);
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  /** Starts (or reaches) the server, reads its tool list, and returns the proxy ready for clients. */
  static async start(options: McpProxyOptions): Promise<McpProxy> {
    if (options.prefix !== undefined && !/^[A-Za-z_][A-Za-z0-9_.:/-]*$/.test(options.prefix)) {
      throw new McpSetupError(`--prefix '${options.prefix}' cannot start an action id (letters, digits, _ . : / -)`);
    }
    const upstream = await connectUpstream(options.upstream, {
      clientName: 'ape-mcp-proxy',
      stderr: options.upstreamStderr ?? 'inherit',
      ...(options.connectTimeoutMs !== undefined ? { timeoutMs: options.connectTimeoutMs } : {}),
    });
    const proxy = new McpProxy(options, upstream);
    try {
      await proxy.#wireUpstream();
    } catch (error) {
      await upstream.client.close().catch(() => undefined);
      throw error;
    }
    return proxy;
  }

  /** The action id of a tool: its name, or `<prefix>.<name>`. */
  actionId(tool: string): string {
    return toolActionId(tool, this.#options.prefix);
  }

  /** The upstream server's capabilities as the proxy offers them (tasks and experimental features are not proxied). */
  get capabilities(): ServerCapabilities {
    const up = this.#upstream.client.getServerCapabilities() ?? {};
    const caps: ServerCapabilities = { tools: { listChanged: true } };
    if (up.resources) caps.resources = { ...(up.resources.subscribe ? { subscribe: true } : {}), ...(up.resources.listChanged ? { listChanged: true } : {}) };
    if (up.prompts) caps.prompts = up.prompts.listChanged ? { listChanged: true } : {};
    if (up.logging) caps.logging = {};
    if (up.completions) caps.completions = {};
    return caps;
  }

  /** Serves one downstream session on a transport (stdio, Streamable HTTP, in-memory). */
  async connect(transport: Transport): Promise<Server> {
    if (this.#end) throw new McpSetupError(`the proxy is stopped: ${this.#end.message}`);
    const info = this.#upstream.client.getServerVersion();
    const instructions = this.#upstream.client.getInstructions();
    const server = new Server(
      { name: info?.name ?? 'mcp-server', version: info?.version ?? '0.0.0', title: `${info?.title ?? info?.name ?? 'MCP server'} (through APE)` },
      { capabilities: this.capabilities, ...(instructions !== undefined ? { instructions } : {}) },
    );
    this.#handle(server);
    server.onclose = () => this.#servers.delete(server);
    this.#servers.add(server);
    await server.connect(transport);
    const calls = takeToolCalls(transport, (call, cancellation) => this.#track(this.#directCall(server, call, cancellation)), (error) => this.#options.log?.(`ape mcp-proxy: to the client: ${error.message}`));
    directCalls.set(transport, calls);
    return server;
  }

  /** Stops: closes every downstream session and the server connection (a stdio server is terminated). */
  async close(): Promise<void> {
    await this.#stop({ reason: 'closed', message: 'the proxy was closed' });
  }

  async #wireUpstream(): Promise<void> {
    const client = this.#upstream.client;
    client.onclose = () => {
      void this.#stop({ reason: 'upstream-closed', message: 'the MCP server closed the connection (it exited or crashed)' });
    };
    client.onerror = (error) => this.#options.log?.(`ape mcp-proxy: from the MCP server: ${error.message}`);
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      await this.#refreshTools().catch((error: Error) => this.#options.log?.(`ape mcp-proxy: re-reading the tool list failed: ${error.message}`));
      await this.#broadcast({ method: 'notifications/tools/list_changed' });
    });
    client.fallbackNotificationHandler = async (notification) => {
      await this.#broadcast(notification as ServerNotification);
    };
    await this.#refreshTools();
  }

  #refreshTools(): Promise<void> {
    this.#refreshing ??= (async () => {
      try {
        const tools = await listAllTools(this.#upstream.client, this.#options.requestTimeoutMs ?? 60_000);
        const changed = this.#tools.observe(tools);
        this.#tools.retainOnly(new Set(tools.map((t) => t.name)));
        for (const name of changed) this.#options.log?.(`ape mcp-proxy: the input schema of tool '${name}' changed; its calls are refused until the policy is updated`);
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  async #broadcast(notification: ServerNotification): Promise<void> {
    await Promise.all([...this.#servers].map((s) => s.notification(notification).catch(() => undefined)));
  }

  #requestOptions(extra: HandlerExtra, progressToken: string | number | undefined): RequestOptions {
    const options: RequestOptions = { signal: extra.signal, timeout: this.#options.requestTimeoutMs ?? 60_000 };
    if (progressToken !== undefined) {
      options.onprogress = (progress) => {
        void extra.sendNotification({ method: 'notifications/progress', params: { ...progress, progressToken } }).catch(() => undefined);
      };
      options.resetTimeoutOnProgress = true;
    }
    return options;
  }

  /** Tracks a handler so the proxy answers it before closing the downstream sessions. */
  #track<T>(work: Promise<T>): Promise<T> {
    this.#inflight.add(work);
    void work.finally(() => this.#inflight.delete(work)).catch(() => undefined);
    return work;
  }

  #ensureUp(): void {
    if (this.#end) throw new McpError(ErrorCode.ConnectionClosed, `APE proxy: ${this.#end.message}`);
  }

  #handle(server: Server): void {
    const caps = this.capabilities;
    const client = this.#upstream.client;
    server.setRequestHandler(ListToolsRequestSchema, (request, extra) =>
      this.#track(
        (async () => {
          this.#ensureUp();
          const result = await client.listTools(request.params, this.#requestOptions(extra, undefined));
          this.#tools.observe(result.tools);
          if (!this.#options.hideDenied) return result;
          return { ...result, tools: result.tools.filter((t) => !this.#deniedOutright(t.name)) };
        })(),
      ),
    );
    // The tools/calls the direct path leaves (with a progress token, relayed under the client's token).
    server.setRequestHandler(CallToolRequestSchema, (request, extra) => {
      const name = request.params.name;
      const progressToken = request.params._meta?.progressToken;
      const forward = async (params: JsonObject) =>
        (await client.callTool({ name, arguments: params as Record<string, unknown> }, undefined, this.#requestOptions(extra, progressToken))) as CallToolResult;
      return this.#track(this.#callTool(server, name, request.params.arguments, forward, extra));
    });
    // Everything else passes through unchanged, for the capabilities the server has.
    const forward = (method: string, params: object | undefined, extra: HandlerExtra, schema: Parameters<typeof client.request>[1]) =>
      this.#track(
        (async () => {
          this.#ensureUp();
          // The client's progress token is not the server's: progress is relayed under the client's token.
          const { _meta, ...rest } = (params ?? {}) as { _meta?: Record<string, unknown> };
          const meta = _meta ? { ..._meta } : undefined;
          const token = meta?.['progressToken'];
          if (meta) delete meta['progressToken'];
          const upstreamParams = meta && Object.keys(meta).length > 0 ? { ...rest, _meta: meta } : rest;
          const progressToken = typeof token === 'string' || typeof token === 'number' ? token : undefined;
          return client.request({ method, params: upstreamParams } as Parameters<typeof client.request>[0], schema, this.#requestOptions(extra, progressToken));
        })(),
      );
    if (caps.resources) {
      server.setRequestHandler(ListResourcesRequestSchema, (r, extra) => forward(r.method, r.params, extra, ListResourcesResultSchema));
      server.setRequestHandler(ListResourceTemplatesRequestSchema, (r, extra) => forward(r.method, r.params, extra, ListResourceTemplatesResultSchema));
      server.setRequestHandler(ReadResourceRequestSchema, (r, extra) => forward(r.method, r.params, extra, ReadResourceResultSchema));
      if (caps.resources.subscribe) {
        server.setRequestHandler(SubscribeRequestSchema, (r, extra) => forward(r.method, r.params, extra, EmptyResultSchema));
        server.setRequestHandler(UnsubscribeRequestSchema, (r, extra) => forward(r.method, r.params, extra, EmptyResultSchema));
      }
    }
    if (caps.prompts) {
      server.setRequestHandler(ListPromptsRequestSchema, (r, extra) => forward(r.method, r.params, extra, ListPromptsResultSchema));
      server.setRequestHandler(GetPromptRequestSchema, (r, extra) => forward(r.method, r.params, extra, GetPromptResultSchema));
    }
    if (caps.completions) server.setRequestHandler(CompleteRequestSchema, (r, extra) => forward(r.method, r.params, extra, CompleteResultSchema));
    if (caps.logging) server.setRequestHandler(SetLevelRequestSchema, (r, extra) => forward(r.method, r.params, extra, EmptyResultSchema));
  }

  /** Whether the policy denies the tool's action whatever its arguments. */
  #deniedOutright(tool: string): boolean {
    const s = simulate(this.#options.ape.policy.ir, this.actionId(tool));
    return s.possible.length === 1 && s.possible[0] === 'deny';
  }

  /** A tools/call of the direct path: the same decision, then one request to the server and its result checked once. */
  #directCall(server: Server, call: DirectToolCall, cancellation: Cancellation): Promise<CallToolResult> {
    const asker: Pick<HandlerExtra, 'sendRequest'> = {
      sendRequest: (request, schema, options) => server.request(request, schema, { ...options, relatedRequestId: call.id }),
    };
    const forward = async (params: JsonObject): Promise<CallToolResult> => {
      if (this.#tools.get(call.name)?.execution?.taskSupport === 'required') {
        throw new McpError(ErrorCode.InvalidRequest, `Tool "${call.name}" requires task-based execution, which the APE proxy does not relay`);
      }
      const raw = await this.#calls.call({ name: call.name, arguments: params }, this.#options.requestTimeoutMs ?? 60_000, cancellation);
      return checkToolResult(call.name, raw, this.#tools.outputValidator(call.name));
    };
    return this.#callTool(server, call.name, call.arguments, forward, asker);
  }

  /**
   * Checks and decides one tools/call, then runs `forward` (the request to the server) inside
   * `ape.call`; refusals are tool results with `isError`, failures of the server JSON-RPC errors.
   */
  async #callTool(
    server: Server,
    name: string,
    rawArgs: Record<string, unknown> | undefined,
    forward: (params: JsonObject) => Promise<CallToolResult>,
    asker: Pick<HandlerExtra, 'sendRequest'>,
  ): Promise<CallToolResult> {
    this.#ensureUp();
    // The arguments are copied once (the runtime's copy-once, which ape.call takes as it is); everything below reads the copy.
    let args: JsonObject;
    try {
      args = plainCopy(rawArgs ?? {}, name) as JsonObject;
    } catch (error) {
      return outcomeOfError(error, name);
    }
    if (!this.#tools.get(name)) await this.#refreshTools().catch(() => undefined);
    const problem = this.#tools.problem(name, args);
    if (problem) return refusal(new McpToolRefusedError(name, problem).code, `${problem}; not run`);
    const checked = this.#tools.generation;
    const action = this.actionId(name);
    const ask = supportsElicitation(server.getClientCapabilities()) ? elicitationApprover(name, asker, this.#options.approvalTimeoutMs ?? 300_000) : undefined;
    // The only approver is the user's, through elicitation: whether they edited the call is known here.
    let edited = false;
    const approve: ApprovalHandler | undefined = ask
      ? async (request) => {
          const answer = await ask(request);
          if (answer.approved && answer.params !== undefined) edited = true;
          return answer;
        }
      : undefined;
    try {
      return await this.#options.ape.call<CallToolResult>(
        action,
        args,
        async (params) => {
          // An edited call, or any call after the tool list was re-read, is checked again before anything is sent;
          // otherwise the runtime hands over the arguments checked above (its canonical copy of them).
          if (edited || this.#tools.generation !== checked) {
            const again = this.#tools.problem(name, params as JsonObject);
            if (again) throw new McpToolRefusedError(name, again);
          }
          this.#ensureUp();
          return forward(params as JsonObject);
        },
        { tool: name, ...(approve ? { approve } : {}) },
      );
    } catch (error) {
      return outcomeOfError(error, name);
    }
  }

  async #stop(end: ProxyEnd): Promise<void> {
    if (this.#end) return;
    this.#end = end;
    // Answer what is in flight (the server's requests fail now) before the sessions close.
    await Promise.race([Promise.allSettled([...this.#inflight]), new Promise((r) => setTimeout(r, 2000).unref())]);
    await Promise.all([...this.#servers].map((s) => s.close().catch(() => undefined)));
    await this.#upstream.client.close().catch(() => undefined);
    this.#resolveDone(end);
  }
}
