/**
 * Repository names (OCI spec "Pulling manifests": the name grammar; the reference's limit of
 * 255 characters): invalid names answer 400 NAME_INVALID on every endpoint, before any
 * storage path is built from them. Paths go out raw, since fetch would resolve `..`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  drivers,
  makeImage,
  sha256,
  startTestRegistry,
  type TestRegistry,
} from '../helpers/server.js';
import { runRow, send, type Row } from './table.js';

const digest = sha256('any');

/** Invalid names as they appear in the request path, each with why it is invalid. */
const invalidNames: Array<{ name: string; why: string }> = [
  { name: 'a/../b', why: 'a .. component' },
  { name: '%2e%2e/x', why: 'a percent-encoded .. component' },
  { name: 'a/./b', why: 'a . component' },
  { name: 'UPPER', why: 'upper-case letters' },
  { name: 'a'.repeat(256), why: '256 characters in one component' },
  { name: `${'a'.repeat(100)}/${'b'.repeat(100)}/${'c'.repeat(54)}`, why: '256 characters' },
  { name: 'a//b', why: 'an empty component' },
  { name: 'abc-', why: 'a trailing -' },
  { name: '-abc', why: 'a leading -' },
  { name: 'a/b/', why: 'a trailing /' },
  { name: 'a%20b', why: 'a space' },
  { name: 'a%5Cb', why: 'a backslash' },
  { name: 'a%2Fb', why: 'a percent-encoded /' },
];

const endpoints: Array<{ what: string; method: string; path: (name: string) => string }> = [
  { what: 'GET manifest', method: 'GET', path: (n) => `/v2/${n}/manifests/latest` },
  { what: 'GET blob', method: 'GET', path: (n) => `/v2/${n}/blobs/${digest}` },
  { what: 'POST upload', method: 'POST', path: (n) => `/v2/${n}/blobs/uploads/` },
  { what: 'GET tags', method: 'GET', path: (n) => `/v2/${n}/tags/list` },
];

const rows: Row<TestRegistry>[] = invalidNames.flatMap(({ name, why }) =>
  endpoints.map(({ what, method, path }): Row<TestRegistry> => ({
    name: `${what} with a name with ${why} (${name.slice(0, 24)}) answers 400 NAME_INVALID`,
    request: { method, path: path(name), raw: true },
    expect: { status: 400, code: 'NAME_INVALID' },
  })),
);

for (const driver of drivers) {
  describe(`repository names (${driver})`, () => {
    let reg: TestRegistry;
    before(async () => {
      reg = await startTestRegistry({ driver });
    });
    after(() => reg?.stop());

    // The grammar is checked before storage: one driver is enough for the whole table.
    if (driver === 'filesystem') {
      for (const row of rows) {
        test(row.name, async () => {
          await runRow(reg.url, reg, row);
        });
      }
    }

    for (const name of [`${'n'.repeat(127)}/${'m'.repeat(127)}`, 'x'.repeat(255)]) {
      test(`a name of 255 characters (${name.slice(0, 12)}...) is pushed and listed`, async () => {
        assert.equal(name.length, 255);
        const image = await makeImage(reg.url, name, 'latest', { layers: 1 });
        const manifest = await send(reg.url, { path: `/v2/${name}/manifests/latest` });
        assert.equal(manifest.status, 200, manifest.body.toString());
        assert.equal(manifest.header('docker-content-digest'), image.manifestDigest);
        const tags = await send(reg.url, { path: `/v2/${name}/tags/list` });
        assert.deepEqual(JSON.parse(tags.body.toString()), { name, tags: ['latest'] });
        const catalog = await send(reg.url, { path: '/v2/_catalog' });
        const { repositories } = JSON.parse(catalog.body.toString()) as { repositories: string[] };
        assert.ok(repositories.includes(name), 'listed in the catalog');
      });
    }

    test('a name made of separators the grammar allows (a.b_c__d--e/f) works', async () => {
      const name = 'a.b_c__d--e/f';
      await makeImage(reg.url, name, 'latest', { layers: 0 });
      const reply = await send(reg.url, { path: `/v2/${name}/manifests/latest` });
      assert.equal(reply.status, 200);
    });
  });
}
