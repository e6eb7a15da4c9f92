import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { normaliseFirst } from '../../src/http/request-line.js';

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
