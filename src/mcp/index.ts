/** The MCP layer: the configuration scanner, the enforcement proxy, and guards for SDK clients and servers. */
export * from './errors.js';
export type { ConfigFormat, McpServerEntry, ScanDiagnostic, ScanDiagnosticCode, ServerTransport, SourcePosition } from './config/types.js';
export { formatScanDiagnostic } from './config/types.js';
export { readMcpConfig, type ConfigReadResult, type ReadConfigOptions } from './config/read.js';
export { scanMcp, type ScanOptions, type ScanResult } from './scan/scan.js';
export type { ScannedServer, ScannedTool } from './scan/types.js';
export { classifyTool, classifyByName, type ToolClassification, type ClassificationBasis } from './scan/classify.js';
export { schemaHash, parameterSchema } from './scan/schema.js';
export { connectUpstream, listAllTools, type UpstreamSpec, type ConnectOptions, type Upstream } from './upstream.js';
export { StdioLineServerTransport, StdioChildTransport, type StdioChildParams } from './stdio.js';
export { toolActionId } from './action-id.js';
export { McpProxy, type McpProxyOptions, type ProxyEnd } from './proxy/proxy.js';
export { listenHttp, parseListen, isLoopback, type ListenOptions, type HttpEndpoint } from './proxy/http.js';
export { elicitationApprover, approvalForm, supportsElicitation } from './proxy/approval.js';
export { guardMcpClient, guardMcpServer, type GuardClientOptions, type GuardServerOptions } from './guard.js';
