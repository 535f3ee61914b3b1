// Bench helper: @modelcontextprotocol/server-everything behind the SDK's own Streamable HTTP transport on 127.0.0.1
// (its bundled HTTP launcher listens on every interface). Prints `ready <url>` when listening.
// With `--json` the transport answers every POST with one JSON response (`enableJsonResponse`) instead of an SSE stream.
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createServer } from '@modelcontextprotocol/server-everything/dist/server/index.js';

const json = process.argv.includes('--json');
const transports = new Map();
const http = createHttpServer(async (req, res) => {
  const id = req.headers['mcp-session-id'];
  let transport = typeof id === 'string' ? transports.get(id) : undefined;
  if (!transport) {
    transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (sid) => transports.set(sid, transport), enableJsonResponse: json });
    await createServer().server.connect(transport);
  }
  await transport.handleRequest(req, res);
});
http.listen(0, '127.0.0.1', () => process.stdout.write(`ready http://127.0.0.1:${http.address().port}/mcp\n`));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
