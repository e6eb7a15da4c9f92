import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { normaliseFirst } from '../../src/http/request-line.js';
import { pushBlob, startTestRegistry, type TestRegistry } from '../helpers/server.js';

const rows: [string, string, string | null][] = [
  [
    'an origin-form HTTP/1.1 line passes unchanged',
    'GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n',
    'GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n',
  ],
  [
    'an absolute-form target becomes origin-form',
    'PUT http://127.0.0.1:5000/v2/a/blobs/uploads/u?digest=x HTTP/1.1\r\nHost: x\r\n\r\n',
    'PUT /v2/a/blobs/uploads/u?digest=x HTTP/1.1\r\nHost: x\r\n\r\n',
  ],
  [
    'an absolute-form target without a path becomes /',
    'GET http://host HTTP/1.1\r\n\r\n',
    'GET / HTTP/1.1\r\n\r\n',
  ],
  [
    'an HTTP/1.0 line becomes HTTP/1.1 with a Host and Connection: close',
    'GET /v2/ HTTP/1.0\r\n\r\n',
    'GET /v2/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
  ],
  [
    'an HTTP/1.0 request keeps its own Host and keep-alive',
    'HEAD / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n',
    'HEAD / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n',
  ],
  ['a line that is not HTTP is refused', 'HELLO WORLD\r\n\r\n', null],
  ['HTTP/2 preface is refused', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', null],
  ['a line not yet complete passes for uWS to wait on', 'GET /v2/ HT', 'GET /v2/ HT'],
];

describe('the gateway first-line check', () => {
  for (const [name, input, expected] of rows) {
    test(name, () => {
      const out = normaliseFirst(Buffer.from(input, 'latin1'));
      assert.equal(out === null ? null : out.toString('latin1'), expected);
    });
  }
});

describe('the gateway copying a connection through to uWebSockets.js', () => {
  let registry: TestRegistry;
  let blob: Buffer;
  let digest = '';
  before(async () => {
    registry = await startTestRegistry();
    blob = randomBytes(24 * 1024 * 1024 + 123);
    digest = await pushBlob(registry.url, 'gw/big', blob);
  });
  after(() => registry.stop());

  /** GETs the blob, stalling the reader now and then so that the gateway must hold back. */
  const slowGet = (stalls: number): Promise<{ status: number; digest: string; length: number }> =>
    new Promise((resolve, reject) => {
      const url = `${registry.url}/v2/gw/big/blobs/${digest}`;
      http
        .get(url, (res) => {
          const hash = createHash('sha256');
          let length = 0;
          let chunks = 0;
          res.on('data', (chunk: Buffer) => {
            hash.update(chunk);
            length += chunk.length;
            if (++chunks % Math.max(1, Math.floor(400 / stalls)) === 0) {
              res.pause();
              setTimeout(() => res.resume(), 5);
            }
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              digest: `sha256:${hash.digest('hex')}`,
              length,
            }),
          );
          res.on('error', reject);
        })
        .on('error', reject);
    });

  test('a large blob read slowly by several clients at once arrives intact', async () => {
    const results = await Promise.all([slowGet(40), slowGet(10), slowGet(1), slowGet(80)]);
    for (const result of results) {
      assert.deepEqual(result, { status: 200, digest, length: blob.length });
    }
  });
});
