// The fetch the proxy gives the SDK's HTTP client transports: the transport's one abort signal followed per request,
// linked only while the request and its body are open (no listener pile-up on that signal, and close still aborts).
import { getEventListeners, once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkedAbortFetch } from '../../src/mcp/linked-fetch.js';

describe('linkedAbortFetch', () => {
  let server: Server;
  let base: string;
  let streamClosed: Promise<void>;
  let onStreamClosed: () => void = () => undefined;

  beforeAll(async () => {
    streamClosed = new Promise((resolve) => (onStreamClosed = resolve));
    server = createServer((req, res) => {
      if (req.url === '/stream') {
        // Headers and one event, then nothing: only an abort ends it.
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: first\n\n');
        res.on('close', () => onStreamClosed());
        return;
      }
      if (req.url === '/moved') {
        res.writeHead(307, { location: '/elsewhere' }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('leaves no listener on the shared signal once each response is read', async () => {
    const shared = new AbortController();
    const f = linkedAbortFetch();
    for (let i = 0; i < 200; i++) {
      const r = await f(`${base}/json`, { signal: shared.signal });
      expect(await r.json()).toEqual({ ok: true });
    }
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
  });

  it('aborting the shared signal aborts a body still being read', async () => {
    const shared = new AbortController();
    const r = await linkedAbortFetch()(`${base}/stream`, { signal: shared.signal });
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: first\n\n');
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(1);
    shared.abort(new Error('the transport closed'));
    await expect(reader.read()).rejects.toThrow();
    await streamClosed;
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
  });

  it('returns a redirect as it came (status and location, for the SDK to judge) and an aborted signal refuses at once', async () => {
    const shared = new AbortController();
    const r = await linkedAbortFetch()(`${base}/moved`, { signal: shared.signal, redirect: 'manual' });
    expect(r.status).toBe(307);
    expect(r.headers.get('location')).toBe('/elsewhere');
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
    shared.abort();
    await expect(linkedAbortFetch()(`${base}/json`, { signal: shared.signal })).rejects.toThrow();
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
  });
});
