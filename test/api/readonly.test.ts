/**
 * Read-only mode (`storage.maintenance.readonly.enabled`, configuration.md "maintenance"):
 * every write answers 405 UNSUPPORTED, every read still works. The data is pushed by a
 * writable registry first, then served by a read-only one over the same root.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  makeImage,
  ociManifestType,
  sha256,
  startTestRegistry,
  type PushedImage,
  type TestRegistry,
} from '../helpers/server.js';
import { runRow, type Row } from './table.js';

const repo = 'ro/img';
const uploadId = '00000000-0000-4000-8000-000000000000';

interface Fixture {
  reg: TestRegistry;
  image: PushedImage;
}

const refused = { status: 405, code: 'UNSUPPORTED' };

const rows: Row<Fixture>[] = [
  {
    name: 'PUT of a manifest answers 405 UNSUPPORTED',
    request: (f) => ({
      method: 'PUT',
      path: `/v2/${repo}/manifests/new`,
      headers: { 'Content-Type': ociManifestType },
      body: f.image.manifestBytes,
    }),
    expect: refused,
  },
  {
    name: 'POST to start an upload answers 405 UNSUPPORTED',
    request: { method: 'POST', path: `/v2/${repo}/blobs/uploads/` },
    expect: refused,
  },
  {
    name: 'a single-POST blob push answers 405 UNSUPPORTED',
    request: {
      method: 'POST',
      path: `/v2/${repo}/blobs/uploads/?digest=${sha256('x')}`,
      body: 'x',
    },
    expect: refused,
  },
  {
    name: 'a mount answers 405 UNSUPPORTED',
    request: (f) => ({
      method: 'POST',
      path: `/v2/ro/other/blobs/uploads/?mount=${f.image.configDigest}&from=${repo}`,
    }),
    expect: refused,
  },
  {
    name: 'PATCH of an upload answers 405 UNSUPPORTED',
    request: { method: 'PATCH', path: `/v2/${repo}/blobs/uploads/${uploadId}`, body: 'x' },
    expect: refused,
  },
  {
    name: 'PUT of an upload answers 405 UNSUPPORTED',
    request: {
      method: 'PUT',
      path: `/v2/${repo}/blobs/uploads/${uploadId}?digest=${sha256('x')}`,
      body: 'x',
    },
    expect: refused,
  },
  {
    name: 'DELETE of an upload answers 405 UNSUPPORTED',
    request: { method: 'DELETE', path: `/v2/${repo}/blobs/uploads/${uploadId}` },
    expect: refused,
  },
  {
    name: 'DELETE of a manifest answers 405 UNSUPPORTED',
    request: (f) => ({ method: 'DELETE', path: `/v2/${repo}/manifests/${f.image.manifestDigest}` }),
    expect: refused,
  },
  {
    name: 'DELETE of a blob answers 405 UNSUPPORTED',
    request: (f) => ({ method: 'DELETE', path: `/v2/${repo}/blobs/${f.image.configDigest}` }),
    expect: refused,
  },
  {
    name: 'GET /v2/ still answers 200',
    request: { path: '/v2/' },
    expect: { status: 200 },
  },
  {
    name: 'GET of a manifest by tag still answers 200 with its bytes',
    request: { path: `/v2/${repo}/manifests/latest` },
    expect: { status: 200, headers: { 'Content-Type': ociManifestType } },
    after: (f, reply) => assert.deepEqual(reply.body, f.image.manifestBytes),
  },
  {
    name: 'HEAD of a manifest by digest still answers 200',
    request: (f) => ({ method: 'HEAD', path: `/v2/${repo}/manifests/${f.image.manifestDigest}` }),
    expect: { status: 200 },
  },
  {
    name: 'GET of a blob still answers 200',
    request: (f) => ({ path: `/v2/${repo}/blobs/${f.image.configDigest}` }),
    expect: { status: 200 },
    after: (f, reply) => assert.equal(sha256(reply.body), f.image.configDigest),
  },
  {
    name: 'the tag list still answers 200',
    request: { path: `/v2/${repo}/tags/list` },
    expect: { status: 200, body: JSON.stringify({ name: repo, tags: ['latest'] }) },
  },
  {
    name: 'the catalog still answers 200',
    request: { path: '/v2/_catalog' },
    expect: { status: 200, body: JSON.stringify({ repositories: [repo] }) },
  },
];

describe('read-only mode (filesystem)', () => {
  const f = {} as Fixture;
  let root = '';
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-api-ro-'));
    const writable = await startTestRegistry({ root });
    try {
      f.image = await makeImage(writable.url, repo, 'latest', { layers: 2 });
    } finally {
      await writable.stop();
    }
    f.reg = await startTestRegistry({ root, readOnly: true, deleteEnabled: true });
  });
  after(async () => {
    await f.reg?.stop();
    await rm(root, { recursive: true, force: true });
  });

  for (const row of rows) {
    test(row.name, async () => {
      await runRow(f.reg.url, f, row);
    });
  }
});
