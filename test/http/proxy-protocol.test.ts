import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import uws from 'uWebSockets.js';
import { proxyV2Header } from '../../src/http/proxy-protocol.js';

/** Sends `prefix` and one request to a uWS app; resolves with the response body. */
function ask(port: number, prefix: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(
        Buffer.concat([
          prefix,
          Buffer.from('GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n'),
        ]),
      );
    });
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve(text.slice(text.indexOf('\r\n\r\n') + 4)));
  });
}

describe('the PROXY protocol v2 header', () => {
  const app = uws.App();
  let listen: uws.us_listen_socket | false = false;
  let port = 0;
  before(async () => {
    app.any('/*', (res) => {
      const proxied = Buffer.from(res.getProxiedRemoteAddressAsText()).toString();
      const peer = Buffer.from(res.getRemoteAddressAsText()).toString();
      res.end(`${proxied}|${peer}`);
    });
    listen = await new Promise((resolve) => app.listen('127.0.0.1', 0, resolve));
    if (listen === false) throw new Error('cannot listen');
    port = uws.us_socket_local_port(listen);
  });
  after(() => {
    if (listen !== false) uws.us_listen_socket_close(listen);
  });

  test('makes uWebSockets.js report the IPv4 client it names', async () => {
    const header = proxyV2Header(
      { address: '203.0.113.7', port: 40_000 },
      { address: '127.0.0.1', port: 5000 },
    );
    assert.equal(await ask(port, header), '203.0.113.7|127.0.0.1');
  });

  test('makes uWebSockets.js report the IPv6 client it names', async () => {
    const header = proxyV2Header(
      { address: '2001:db8::1:2', port: 40_000 },
      { address: '::1', port: 5000 },
    );
    assert.equal(await ask(port, header), '2001:0db8:0000:0000:0000:0000:0001:0002|127.0.0.1');
  });

  test('sends an IPv4-mapped address as IPv4', async () => {
    const header = proxyV2Header(
      { address: '::ffff:198.51.100.4', port: 1 },
      { address: '::ffff:127.0.0.1', port: 2 },
    );
    assert.equal(header.length, 28);
    assert.equal(await ask(port, header), '198.51.100.4|127.0.0.1');
  });

  test('is empty when an address is unknown, and uWS then reports the peer', async () => {
    const header = proxyV2Header({ address: '', port: 0 }, { address: '127.0.0.1', port: 1 });
    assert.equal(header.length, 0);
    assert.equal(await ask(port, header), '|127.0.0.1');
  });
});
