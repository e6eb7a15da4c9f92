/** `GET /v2/`, the version check, and what every response carries (OCI spec end-1). */
import { after, before, describe, test } from 'node:test';
import { drivers, startTestRegistry, type TestRegistry } from '../helpers/server.js';
import { runRow, type Row } from './table.js';

const apiVersion = { 'Docker-Distribution-API-Version': 'registry/2.0' };

const rows: Row<TestRegistry>[] = [
  {
    name: 'GET /v2/ answers 200 with the API version header and an empty JSON object',
    request: { path: '/v2/' },
    expect: {
      status: 200,
      headers: { ...apiVersion, 'Content-Type': /^application\/json/ },
      body: '{}',
    },
  },
  {
    name: 'HEAD /v2/ answers 200 with the API version header and no body',
    request: { method: 'HEAD', path: '/v2/' },
    expect: { status: 200, headers: apiVersion, body: '' },
  },
  {
    name: 'an error response carries the API version header too',
    request: { path: '/v2/base/nothing/manifests/latest' },
    expect: { status: 404, code: 'NAME_UNKNOWN', headers: apiVersion },
  },
  {
    name: 'a path under /v2/ that names no endpoint answers 404',
    request: { path: '/v2/base/nothing/here' },
    expect: { status: 404, code: 'NAME_UNKNOWN' },
  },
  {
    name: 'a path outside /v2/ answers 404',
    request: { path: '/v1/_ping' },
    expect: { status: 404, code: 'NAME_UNKNOWN' },
  },
  {
    name: 'POST /v2/ is refused with 405 UNSUPPORTED',
    request: { method: 'POST', path: '/v2/' },
    expect: { status: 405, code: 'UNSUPPORTED' },
  },
  {
    name: 'PUT on the blob endpoint, which has no PUT, is refused with 405 UNSUPPORTED',
    request: { method: 'PUT', path: `/v2/base/x/blobs/sha256:${'a'.repeat(64)}`, body: 'x' },
    expect: { status: 405, code: 'UNSUPPORTED' },
  },
  {
    name: 'POST on the catalog is refused with 405 UNSUPPORTED',
    request: { method: 'POST', path: '/v2/_catalog' },
    expect: { status: 405, code: 'UNSUPPORTED' },
  },
];

for (const driver of drivers) {
  describe(`base endpoint (${driver})`, () => {
    let reg: TestRegistry;
    before(async () => {
      reg = await startTestRegistry({ driver });
    });
    after(() => reg.stop());

    for (const row of rows) {
      test(row.name, async () => {
        await runRow(reg.url, reg, row);
      });
    }
  });
}
