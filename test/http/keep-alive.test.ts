import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startTestRegistry, type TestRegistry } from '../helpers/server.js';

/** Sends two requests on one connection and returns everything the server wrote back. */
function twoOnOneConnection(port: number, first: string, second: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(first);
      setTimeout(() => socket.write(second), 100);
    });
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
    socket.on('error', reject);
    setTimeout(() => {
      socket.destroy();
      resolve(data);
    }, 600);
  });
}

describe('connections stay usable after bodiless replies', () => {
  for (const gateway of ['true', 'false']) {
    describe(`with the gateway ${gateway === 'true' ? 'on' : 'off'}`, () => {
      let reg: TestRegistry;
      before(async () => {
        reg = await startTestRegistry({ env: { REGISTRY_HTTP_GATEWAY: gateway } });
      });
      after(() => reg?.stop());

      test('a HEAD announces the length and the next request on the connection is answered', async () => {
        const port = Number(new URL(reg.url).port);
        const out = await twoOnOneConnection(
          port,
          'HEAD /v2/ HTTP/1.1\r\nHost: x\r\n\r\n',
          'GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n',
        );
        const replies = out.split('HTTP/1.1 ').filter((r) => r !== '');
        assert.equal(replies.length, 2, out);
        assert.match(replies[0] ?? '', /^200 OK\r\n/);
        assert.equal((replies[0]?.match(/content-length: 2\r\n/gi) ?? []).length, 1, replies[0]);
        assert.match(replies[1] ?? '', /\r\n\r\n\{\}$/);
      });

      test('a 204 leaves the connection usable', async () => {
        const post = await fetch(`${reg.url}/v2/ka/app/blobs/uploads/`, { method: 'POST' });
        const path = new URL(post.headers.get('location') ?? '').pathname;
        const search = new URL(post.headers.get('location') ?? '').search;
        const port = Number(new URL(reg.url).port);
        const out = await twoOnOneConnection(
          port,
          `GET ${path}${search} HTTP/1.1\r\nHost: x\r\n\r\n`,
          'GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n',
        );
        assert.match(out, /^HTTP\/1\.1 204 No Content\r\n/);
        assert.doesNotMatch(out.split('\r\n\r\n')[0] ?? '', /content-length: 9/i);
        assert.match(out, /HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n\{\}$/);
      });
    });
  }

  test('an HTTP/1.0 request without Host is answered and its connection closed', async () => {
    const reg = await startTestRegistry();
    try {
      const port = Number(new URL(reg.url).port);
      const started = Date.now();
      const answer = await new Promise<string>((resolve, reject) => {
        let data = '';
        const socket = net.connect(port, '127.0.0.1', () =>
          socket.write('GET /v2/ HTTP/1.0\r\n\r\n'),
        );
        socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
        socket.on('close', () => resolve(data));
        socket.on('error', reject);
        setTimeout(() => socket.destroy(), 5000);
      });
      assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
      assert.ok(Date.now() - started < 2000, 'closed at once, as HTTP/1.0 expects');
    } finally {
      await reg.stop();
    }
  });
});
