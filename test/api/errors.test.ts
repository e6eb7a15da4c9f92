/**
 * Error codes and error bodies (OCI spec "Error Codes"; Docker API "Errors"): the code table
 * matches the specs, and every error the API answers has the spec's JSON shape, the code's
 * status and message, and nothing about the server's storage in it.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { errorCodes } from '../../src/errors/codes.js';
import {
  descriptor,
  makeImage,
  ociConfigType,
  ociLayerType,
  ociManifestType,
  sha256,
  startTestRegistry,
  type TestRegistry,
} from '../helpers/server.js';
import { errorsOf, pathOf, send, withParam, type Req } from './table.js';

/** This checkout's root: this file runs as `dist/test/api/errors.test.js`. */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const referenceDir = resolve(repoRoot, '..', 'shared', 'reference');

function readReference(relative: string): string {
  const file = resolve(referenceDir, relative);
  if (!existsSync(file)) {
    assert.fail(
      `the specification ${file} is missing: the code table cannot be checked without it ` +
        `(expected the shared reference folder next to the checkout, at ${referenceDir})`,
    );
  }
  return readFileSync(file, 'utf8');
}

const table = errorCodes as Record<string, { message: string; status: number } | undefined>;

describe('the error code table', () => {
  test('it holds every code of the OCI spec error table, with its description as message', () => {
    const spec = readReference('oci-distribution-spec/spec.md');
    const rows = [...spec.matchAll(/^\|\s*code-\d+\s*\|\s*`([A-Z_]+)`\s*\|\s*([^|]*?)\s*\|/gm)];
    assert.ok(rows.length >= 14, `found only ${rows.length} codes in the OCI spec table`);
    for (const [, code = '', description = ''] of rows) {
      const entry = table[code];
      assert.ok(entry !== undefined, `${code} is missing from src/errors/codes.ts`);
      assert.equal(entry.message, description, `message of ${code}`);
    }
  });

  test('it holds every code of the Docker Registry HTTP API V2 error table', () => {
    const api = readReference('distribution-docs/spec/api.md');
    const section = api.slice(api.indexOf('### Errors'), api.indexOf('### Base'));
    const codes = [...section.matchAll(/^\s*`([A-Z_]+)`\s*\|/gm)].map((m) => m[1] ?? '');
    assert.ok(codes.length >= 17, `found only ${codes.length} codes in the Docker API table`);
    const absent = codes.filter((code) => table[code] === undefined);
    assert.deepEqual(absent, [], 'codes missing from src/errors/codes.ts');
  });

  test('every code is upper case and underscores, with a 4xx or 5xx status', () => {
    for (const [code, entry] of Object.entries(errorCodes)) {
      assert.match(code, /^[A-Z_]+$/);
      assert.ok(entry.status >= 400 && entry.status < 600, `${code}: ${entry.status}`);
      assert.ok(entry.message.length > 0, `${code} has a message`);
    }
  });
});

interface Fixture {
  reg: TestRegistry;
  upload: string;
}

/** One request per error code the API can produce. */
const producers: Array<{ code: string; request: (f: Fixture) => Req | Promise<Req> }> = [
  { code: 'BLOB_UNKNOWN', request: () => ({ path: `/v2/err/repo/blobs/${sha256('nope')}` }) },
  {
    code: 'BLOB_UPLOAD_INVALID',
    request: (f) => ({ path: f.upload.replace(/_state=[^&]*/, '_state=forged.token') }),
  },
  {
    code: 'BLOB_UPLOAD_UNKNOWN',
    request: () => ({ path: '/v2/err/repo/blobs/uploads/00000000-0000-4000-8000-000000000000' }),
  },
  { code: 'DIGEST_INVALID', request: () => ({ path: '/v2/err/repo/blobs/sha256:xyz' }) },
  {
    code: 'MANIFEST_BLOB_UNKNOWN',
    request: () => ({
      method: 'PUT',
      path: '/v2/err/repo/manifests/missing-layer',
      headers: { 'Content-Type': ociManifestType },
      body: JSON.stringify({
        schemaVersion: 2,
        mediaType: ociManifestType,
        config: descriptor(ociConfigType, 'no such config'),
        layers: [descriptor(ociLayerType, 'no such layer')],
      }),
    }),
  },
  {
    code: 'MANIFEST_INVALID',
    request: () => ({
      method: 'PUT',
      path: '/v2/err/repo/manifests/broken',
      headers: { 'Content-Type': ociManifestType },
      body: 'not json',
    }),
  },
  { code: 'MANIFEST_UNKNOWN', request: () => ({ path: '/v2/err/repo/manifests/never' }) },
  { code: 'NAME_INVALID', request: () => ({ path: '/v2/Err/Repo/tags/list' }) },
  { code: 'NAME_UNKNOWN', request: () => ({ path: '/v2/err/nowhere/tags/list' }) },
  { code: 'PAGINATION_NUMBER_INVALID', request: () => ({ path: '/v2/_catalog?n=x' }) },
  {
    code: 'RANGE_INVALID',
    request: (f) => ({
      method: 'PATCH',
      path: f.upload,
      headers: { 'Content-Range': '100-109' },
      body: '0123456789',
    }),
  },
  { code: 'TAG_INVALID', request: () => ({ path: '/v2/err/repo/manifests/.bad' }) },
  {
    code: 'UNSUPPORTED',
    request: () => ({ method: 'DELETE', path: `/v2/err/repo/blobs/${sha256('nope')}` }),
  },
];

describe('error responses', () => {
  const f = {} as Fixture;
  before(async () => {
    f.reg = await startTestRegistry({ deleteEnabled: false });
    await makeImage(f.reg.url, 'err/repo', 'latest');
    const started = await send(f.reg.url, { method: 'POST', path: '/v2/err/repo/blobs/uploads/' });
    f.upload = pathOf(started.header('location'));
  });
  after(() => f.reg?.stop());

  for (const { code, request } of producers) {
    test(`${code} comes as {"errors":[{code,message}]} JSON, its status and message`, async () => {
      const reply = await send(f.reg.url, await request(f));
      const entry = table[code];
      assert.ok(entry !== undefined);
      assert.equal(reply.status, entry.status, `status of ${code}: ${reply.body.toString()}`);
      const errors = errorsOf(reply);
      assert.equal(errors[0]?.code, code);
      assert.equal(errors[0]?.message, entry.message);
      assert.equal(reply.header('content-length'), String(reply.body.byteLength));
      const text = reply.body.toString();
      assert.ok(!text.includes(f.reg.root), 'the storage root is not in the body');
      assert.ok(!text.includes('/docker/registry/v2'), 'no storage path is in the body');
      assert.ok(!/\bat [\w.<>]+ \(/.test(text), 'no stack trace is in the body');
    });
  }

  test('a HEAD that fails answers its status with no body', async () => {
    const reply = await send(f.reg.url, { method: 'HEAD', path: '/v2/err/repo/manifests/never' });
    assert.equal(reply.status, 404);
    assert.equal(reply.body.byteLength, 0);
  });

  test('a PUT with a digest naming the state of another upload is not a server error', async () => {
    const other = await send(f.reg.url, { method: 'POST', path: '/v2/err/repo/blobs/uploads/' });
    const state = /_state=([^&]*)/.exec(pathOf(other.header('location')))?.[1] ?? '';
    const forged = f.upload.replace(/_state=[^&]*/, `_state=${state}`);
    const path = withParam(forged, 'digest', sha256(''));
    const reply = await send(f.reg.url, { method: 'PUT', path });
    assert.ok(reply.status >= 400 && reply.status < 500, `status ${reply.status}`);
    errorsOf(reply);
  });
});
