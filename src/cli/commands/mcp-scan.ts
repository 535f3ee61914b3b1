/** `ape mcp-scan <config...>`: read MCP client configurations, optionally list each server's tools, write a starting policy. */
import { writeFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import type { Command } from 'commander';
import { formatScanDiagnostic, scanMcp } from '../../mcp/index.js';
import type { CliIO } from '../io.js';
import { CliUsageError } from '../shared.js';

interface ScanCliOptions {
  output?: string;
  connect?: boolean;
  prefixByServer?: boolean;
  timeout?: string;
  json?: boolean;
}

/** Registers `mcp-scan` on the program. */
export function register(program: Command, io: CliIO): void {
  program
    .command('mcp-scan')
    .description('read MCP client configurations (Claude Desktop, Claude Code, Cursor, VS Code, Windsurf) and write a starting policy')
    .argument('<config...>', 'configuration files (claude_desktop_config.json, .mcp.json, .cursor/mcp.json, .vscode/mcp.json, mcp_config.json)')
    .option('-o, --output <policy.yaml>', 'write the policy to this file (default: stdout)')
    .option('--connect', "start or reach each server and list its real tools, schemas and annotations")
    .option('--prefix-by-server', 'action ids <server>.<tool> instead of <tool>')
    .option('--timeout <ms>', 'time allowed per server with --connect', '30000')
    .option('--json', 'print {policy, servers, tools, diagnostics} as JSON')
    .addHelpText('after', '\nExit codes: 0 written, 1 a configuration or server had an error (the policy is still written from the rest).\n\nExample:\n  $ ape mcp-scan .mcp.json .vscode/mcp.json --connect -o mcp-policy.yaml')
    .action(async (files: string[], options: ScanCliOptions) => {
      const timeoutMs = Number(options.timeout);
      if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new CliUsageError(`--timeout must be a positive integer, got '${options.timeout ?? ''}'`);
      const policyName = options.output ? basename(options.output, extname(options.output)).replace(/[^A-Za-z0-9_]/g, '_').replace(/^(?=[0-9])/, '_') : 'mcp_servers';
      const result = await scanMcp(files, {
        connect: options.connect ?? false,
        prefixByServer: options.prefixByServer ?? false,
        timeoutMs,
        policyName: policyName === '' ? 'mcp_servers' : policyName,
      });
      if (options.output) writeFileSync(options.output, result.policyText);
      const failed = result.diagnostics.some((d) => d.severity === 'error');
      if (options.json) {
        io.out(JSON.stringify({
          policy: result.policyText,
          servers: result.servers.map((s) => ({ name: s.name, format: s.entry.format, transport: s.entry.transport, source: s.entry.source, connected: s.connected, ...(s.guess ? { guess: s.guess } : {}) })),
          tools: result.tools.map((t) => ({
            server: t.server, name: t.name, action: t.action, decision: t.classification.decision, basis: t.classification.basis,
            hints: t.classification.hints, category: t.classification.category, risk_level: t.classification.risk, input_schema: t.inputSchema,
            ...(t.annotations ? { annotations: t.annotations } : {}), schema_sha256: t.schemaHash,
          })),
          diagnostics: result.diagnostics,
        }, null, 2));
      } else {
        // Findings go to stderr so that stdout is the policy alone (`ape mcp-scan ... > policy.yaml`).
        for (const d of result.diagnostics) io.err(formatScanDiagnostic(d));
        if (!options.output) io.out(result.policyText);
        else {
          const counts = { allow: 0, escalate: 0, deny: 0 };
          for (const t of result.tools) counts[t.classification.decision]++;
          io.out(`${options.output}: ${result.servers.length} server(s), ${result.tools.length} tool(s): ${counts.allow} allowed, ${counts.escalate} escalated, ${counts.deny} denied; everything else denied`);
        }
      }
      io.exitCode = failed ? 1 : 0;
    });
}
