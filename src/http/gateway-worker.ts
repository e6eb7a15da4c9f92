/**
 * The gateway thread (see gateway.ts): accepts TCP connections on the public address, looks
 * at the first bytes of each, and either answers a TLS handshake at once or splices the
 * connection through to uWebSockets.js on its private loopback port.
 */
import net from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { proxyV2Header } from './proxy-protocol.js';
import { badRequest, normaliseFirst } from './request-line.js';

/** What the main thread passes in. */
export interface GatewayData {
  host: string;
  port: number;
  /** The loopback port uWS listens on. */
  upstream: number;
}

const data = workerData as GatewayData;

// What Go's net/http answers to a TLS handshake on a plain port; clients recognise it and
// fall back to plain HTTP at once.
const tlsAnswer =
  'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n';

const sockets = new Set<net.Socket>();

/**
 * `head` (the client's first bytes, or null) after a PROXY protocol v2 header naming the
 * client's address, so that uWS reports the client rather than this thread's loopback
 * connection (`getProxiedRemoteAddressAsText`).
 */
function withClientAddress(client: net.Socket, head: Buffer | null): Buffer | null {
  if (head === null) return null;
  const source = { address: client.remoteAddress ?? '', port: client.remotePort ?? 0 };
  const dest = { address: client.localAddress ?? '', port: client.localPort ?? 0 };
  return Buffer.concat([proxyV2Header(source, dest), head]);
}

const server = net.createServer({ noDelay: true }, (client) => {
  sockets.add(client);
  client.on('close', () => sockets.delete(client));
  client.on('error', () => client.destroy());
  client.once('data', (first: Buffer) => {
    if (first[0] === 0x16) {
      client.end(tlsAnswer);
      return;
    }
    const head = withClientAddress(client, normaliseFirst(first));
    if (head === null) {
      client.end(badRequest);
      return;
    }
    const upstream = net.connect(data.upstream, '127.0.0.1');
    upstream.setNoDelay(true);
    upstream.write(head);
    client.pipe(upstream);
    upstream.pipe(client);
    // An orderly close of either side ends the other after what it holds is flushed
    // (`pipe` calls `end`); only an error cuts the other side off at once.
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
});

if (parentPort !== null) {
  const port = parentPort;
  server.on('error', (err) => port.postMessage({ error: err.message }));
  server.listen(data.port, data.host, () => {
    const address = server.address() as net.AddressInfo;
    port.postMessage({ port: address.port });
  });
  port.on('message', (message: string) => {
    if (message === 'stop-listening') server.close();
    if (message === 'close') {
      server.close();
      for (const socket of sockets) socket.destroy();
      port.close();
    }
  });
}
