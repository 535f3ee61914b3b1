/** `ape mcp-proxy --policy <file> -- <command> [args...]`: an MCP server in front of an MCP server, deciding every tools/call. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Ape } from '../../agent/index.js';
import { FilePolicySource, watchApe } from '../../distribution/index.js';
import { McpProxy, StdioLineServerTransport, isLoopback, listenHttp, parseListen, type ProxyEnd } from '../../mcp/index.js';
import { JsonlSink } from '../../runtime/index.js';
import type { CliIO } from '../io.js';
import { CliUsageError } from '../shared.js';

interface ProxyCliOptions {
  policy: string;
  engine: string;
  opaUrl?: string;
  audit?: string;
  prefix?: string;
  listen?: string;
  allowRemote?: boolean;
  hideDenied?: boolean;
  watch?: boolean;
  origins?: boolean;
  systemInput?: string;
  timeout: string;
}

/** The `--system-input` file: JSON, read once. */
function readSystemInput(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliUsageError(`--system-input ${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CliUsageError(`--system-input ${file}: not JSON (${(error as Error).message})`);
  }
}

function positiveInt(value: string, option: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new CliUsageError(`${option} must be a positive integer, got '${value}'`);
  return n;
}

/** Registers `mcp-proxy` on the program. */
export function register(program: Command, io: CliIO): void {
  program
    .command('mcp-proxy')
    .description('serve MCP in front of the MCP server <command> starts; every tools/call is decided by the policy before it reaches the server')
    .requiredOption('--policy <file>', 'policy file')
    .option('--engine <name>', 'decision engine', 'native')
    .option('--opa-url <url>', 'OPA server base URL (engine opa-server)')
    .option('--audit <file.jsonl>', 'append hash-chained audit events to this file')
    .option('--prefix <p>', "action id of a tool call is '<p>.<tool>' instead of '<tool>'")
    .option('--listen <host:port>', 'serve Streamable HTTP at http://<host:port>/mcp instead of stdio (loopback only unless --allow-remote)')
    .option('--allow-remote', 'allow --listen on a non-loopback address (there is no authentication)')
    .option('--hide-denied', 'leave out of tools/list the tools the policy denies whatever their arguments')
    .option('--timeout <ms>', 'time the server has to answer one request', '60000')
    .option('--watch', 'reload --policy when the file changes: an atomic swap; a policy that does not compile keeps the current one')
    .option('--origins', "provenance by origin: every tools/call result is recorded, and each argument is labeled by where its value occurs (docs/provenance.md)")
    .option('--system-input <file.json>', "with --origins: JSON the deployer trusts (contacts, own accounts), recorded as the 'system' input")
    .argument('<command...>', 'the MCP server to start, after --')
    .addHelpText('after', '\nExit codes: 0 the client left, 1 an error or the server exited.\n\nExample:\n  $ ape mcp-proxy --policy mcp-policy.yaml --audit audit.jsonl -- npx -y @modelcontextprotocol/server-filesystem /workspace')
    .action(async (command: string[], options: ProxyCliOptions) => {
      const timeout = positiveInt(options.timeout, '--timeout');
      const listen = options.listen !== undefined ? parseListen(options.listen) : undefined;
      if (listen && !isLoopback(listen.host) && !options.allowRemote) {
        throw new CliUsageError(`--listen ${listen.host} is not a loopback address; pass --allow-remote to serve other machines (there is no authentication)`);
      }
      const [cmd, ...args] = command;
      if (cmd === undefined) throw new CliUsageError('give the MCP server command after --');
      if (options.systemInput !== undefined && !options.origins) throw new CliUsageError('--system-input needs --origins');
      const systemInput = options.systemInput === undefined ? undefined : readSystemInput(options.systemInput);
      const ape = await Ape.fromPolicy(options.policy, {
        engine: options.engine,
        ...(options.opaUrl ? { engineOptions: { opaUrl: options.opaUrl } } : {}),
        ...(options.audit ? { audit: [new JsonlSink(options.audit)] } : {}),
        // The deployer's data is in every session's record, the default session's renewals included.
        ...(options.origins ? { origins: systemInput === undefined ? true : { system: systemInput } } : {}),
      });
      let end: ProxyEnd;
      try {
        if (options.watch) {
          // Stopped by ape.close(); every swap and refusal is audited by the runtime and told on stderr.
          watchApe(ape, new FilePolicySource(options.policy)).on((event) =>
            io.err(event.type === 'policy.swapped' ? `ape mcp-proxy: policy reloaded (${event.hash})` : `ape mcp-proxy: policy change refused, the current one stays: ${event.message}`),
          );
        }
        const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => typeof e[1] === 'string'));
        const proxy = await McpProxy.start({
          ape,
          upstream: { transport: 'stdio', command: cmd, args, env },
          requestTimeoutMs: timeout,
          hideDenied: options.hideDenied ?? false,
          log: (line) => io.err(line),
          ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
        });
        const stop = () => void proxy.close();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          if (listen) {
            const endpoint = await listenHttp(proxy, { ...listen, allowRemote: options.allowRemote ?? false });
            io.err(`ape mcp-proxy: serving ${endpoint.url}`);
            end = await proxy.done;
            await endpoint.close();
          } else {
            // stdout is the MCP channel from here on: nothing else is written to it.
            process.stdin.once('end', stop);
            await proxy.connect(new StdioLineServerTransport());
            end = await proxy.done;
          }
        } finally {
          await proxy.close();
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          process.stdin.off('end', stop);
        }
      } finally {
        await ape.close();
      }
      if (end.reason === 'upstream-closed') io.err(`ape mcp-proxy: ${end.message}`);
      io.exitCode = end.reason === 'upstream-closed' ? 1 : 0;
      if (!listen) process.stdin.pause();
    });
}
