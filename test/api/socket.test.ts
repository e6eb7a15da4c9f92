/**
 * What reaches the front end over a raw TCP connection that no HTTP client would send:
 * a TLS handshake on the plain-HTTP port, the absolute-form request line (RFC 9112
 * section 3.2.2, which proxies send and servers MUST accept), and clients that go away
 * midway. The registry must answer or close promptly, and keep serving afterwards.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestRegistry, type TestRegistry } from '../helpers/server.js';
import { exchange, send } from './table.js';

/** A minimal TLS 1.2 ClientHello record: what `curl https://` sends first. */
function clientHello(): Buffer {
  const body = Buffer.concat([
    Buffer.from([0x03, 0x03]), // client version TLS 1.2
    Buffer.alloc(32, 0x42), // random
    Buffer.from([0x00]), // session id length
    Buffer.from([0x00, 0x04, 0x13, 0x01, 0xc0, 0x2f]), // two cipher suites
    Buffer.from([0x01, 0x00]), // compression: null
    Buffer.from([0x00, 0x00]), // no extensions
  ]);
  const handshake = Buffer.concat([
    Buffer.from([0x01, 0x00, (body.length >> 8) & 0xff, body.length & 0xff]),
    body,
  ]);
  return Buffer.concat([
    Buffer.from([0x16, 0x03, 0x01, (handshake.length >> 8) & 0xff, handshake.length & 0xff]),
    handshake,
  ]);
}

async function stillServing(reg: TestRegistry): Promise<void> {
  const reply = await send(reg.url, { path: '/v2/' });
  assert.equal(reply.status, 200, 'GET /v2/ after the odd connection');
}

describe('the front end over raw connections', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startTestRegistry();
  });
  after(() => reg?.stop());

  test('a TLS ClientHello is answered or closed within 2 s, and the server goes on', async () => {
    const got = await exchange(reg.port, [clientHello()], 2000);
    assert.notEqual(got.end, 'timeout', `connection still open after ${got.ms} ms`);
    if (got.text.length > 0) assert.match(got.text, /^HTTP\/1\.[01] 4\d\d /);
    await stillServing(reg);
  });

  test('an absolute-form request line GET http://host:port/v2/ answers 200', async () => {
    const host = `127.0.0.1:${reg.port}`;
    const request = `GET http://${host}/v2/ HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
    const got = await exchange(reg.port, [request], 2000, true);
    assert.match(got.text, /^HTTP\/1\.1 200 /, `got (${got.end}): ${got.text.slice(0, 200)}`);
    assert.match(got.text, /\r\nDocker-Distribution-API-Version: registry\/2\.0\r\n/i);
  });

  test('a request line that is not HTTP is answered with 400 or closed within 2 s', async () => {
    const got = await exchange(reg.port, ['HELLO THERE\r\n\r\n'], 2000);
    assert.notEqual(got.end, 'timeout', `connection still open after ${got.ms} ms`);
    if (got.text.length > 0) assert.match(got.text, /^HTTP\/1\.[01] 4\d\d /);
    await stillServing(reg);
  });

  test('a client that goes away in the middle of a PATCH leaves the server serving', async () => {
    const started = await send(reg.url, { method: 'POST', path: '/v2/sock/abort/blobs/uploads/' });
    assert.equal(started.status, 202);
    const location = new URL(started.header('location') ?? '', reg.url);
    const head =
      `PATCH ${location.pathname}${location.search} HTTP/1.1\r\nHost: x\r\n` +
      'Content-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n';
    await exchange(reg.port, [head, Buffer.alloc(1000, 1)], 200);
    await stillServing(reg);
    const status = await send(reg.url, { path: `${location.pathname}${location.search}` });
    assert.ok([204, 404].includes(status.status), `upload status ${status.status}`);
  });

  test('a client that goes away in the middle of a single POST leaves no blob', async () => {
    const digest = `sha256:${'1'.repeat(64)}`;
    const head =
      `POST /v2/sock/abort2/blobs/uploads/?digest=${digest} HTTP/1.1\r\nHost: x\r\n` +
      'Content-Length: 100000\r\n\r\n';
    await exchange(reg.port, [head, Buffer.alloc(1000, 1)], 200);
    await stillServing(reg);
    const blob = await send(reg.url, { method: 'HEAD', path: `/v2/sock/abort2/blobs/${digest}` });
    assert.equal(blob.status, 404);
  });
});
