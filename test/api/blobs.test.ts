/**
 * `GET`/`HEAD`/`DELETE /v2/<name>/blobs/<digest>` (OCI spec end-2, end-10; "Pulling blobs",
 * RFC 9110 ranges), against both drivers.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  drivers,
  pushBlob,
  sha256,
  startTestRegistry,
  type DriverName,
  type TestRegistry,
} from '../helpers/server.js';
import { hex, runRow, send, type Row } from './table.js';

/** Twenty bytes, so ranges are easy to read. */
const content = '0123456789abcdefghij';
const digest = sha256(content);
const otherContent = 'only in the other repository';
const otherDigest = sha256(otherContent);
const unknownDigest = sha256('never pushed');
const repo = 'blobs/one';

interface Fixture {
  reg: TestRegistry;
  /** The same, with deletion disabled. */
  noDelete: TestRegistry;
}

const blobHeaders = {
  'Content-Type': 'application/octet-stream',
  'Docker-Content-Digest': digest,
  ETag: `"${digest}"`,
};

const readRows: Row<Fixture>[] = [
  {
    name: 'GET of a pushed blob answers 200 with its bytes, length, digest, ETag and type',
    request: { path: `/v2/${repo}/blobs/${digest}` },
    expect: { status: 200, headers: { ...blobHeaders, 'Content-Length': '20' }, body: content },
  },
  {
    name: 'HEAD of a pushed blob answers 200 with its length and digest and no body',
    request: { method: 'HEAD', path: `/v2/${repo}/blobs/${digest}` },
    expect: { status: 200, headers: { ...blobHeaders, 'Content-Length': '20' }, body: '' },
  },
  {
    name: 'GET of a blob never pushed answers 404 BLOB_UNKNOWN',
    request: { path: `/v2/${repo}/blobs/${unknownDigest}` },
    expect: { status: 404, code: 'BLOB_UNKNOWN' },
  },
  {
    name: 'HEAD of a blob never pushed answers 404 without a body',
    request: { method: 'HEAD', path: `/v2/${repo}/blobs/${unknownDigest}` },
    expect: { status: 404, body: '' },
  },
  {
    name: 'GET of a blob that only another repository holds answers 404 BLOB_UNKNOWN',
    request: { path: `/v2/${repo}/blobs/${otherDigest}` },
    expect: { status: 404, code: 'BLOB_UNKNOWN' },
  },
  {
    name: 'GET of a blob in a repository that does not exist answers 404 BLOB_UNKNOWN',
    request: { path: `/v2/blobs/nowhere/blobs/${digest}` },
    expect: { status: 404, code: 'BLOB_UNKNOWN' },
  },
  {
    name: 'a digest whose hex part is not hex (sha256:xyz) answers 400 DIGEST_INVALID',
    request: { path: `/v2/${repo}/blobs/sha256:xyz` },
    expect: { status: 400, code: 'DIGEST_INVALID' },
  },
  {
    name: 'a sha256 digest of 63 hex digits answers 400 DIGEST_INVALID',
    request: { path: `/v2/${repo}/blobs/sha256:${hex(63)}` },
    expect: { status: 400, code: 'DIGEST_INVALID' },
  },
  {
    name: 'a sha256 digest of 65 hex digits answers 400 DIGEST_INVALID',
    request: { path: `/v2/${repo}/blobs/sha256:${hex(65)}` },
    expect: { status: 400, code: 'DIGEST_INVALID' },
  },
  {
    name: 'an md5 digest (an unsupported algorithm) answers 400 DIGEST_INVALID',
    request: { path: `/v2/${repo}/blobs/md5:${hex(32)}` },
    expect: { status: 400, code: 'DIGEST_INVALID' },
  },
  {
    name: 'a sha256 digest in upper-case hex answers 400 DIGEST_INVALID',
    request: { path: `/v2/${repo}/blobs/${digest.toUpperCase().replace('SHA256', 'sha256')}` },
    expect: { status: 400, code: 'DIGEST_INVALID' },
  },
  {
    name: 'a digest without an algorithm answers 400 DIGEST_INVALID',
    request: { path: `/v2/${repo}/blobs/${digest.slice('sha256:'.length)}` },
    expect: { status: 400, code: 'DIGEST_INVALID' },
  },
  {
    name: 'HEAD with a malformed digest answers 400',
    request: { method: 'HEAD', path: `/v2/${repo}/blobs/sha256:xyz` },
    expect: { status: 400 },
  },
  {
    name: 'Range bytes=0-9 answers 206 with the first ten bytes and their Content-Range',
    request: { path: `/v2/${repo}/blobs/${digest}`, headers: { Range: 'bytes=0-9' } },
    expect: {
      status: 206,
      headers: { 'Content-Range': 'bytes 0-9/20', 'Content-Length': '10', ...blobHeaders },
      body: content.slice(0, 10),
    },
  },
  {
    name: 'Range bytes=5- answers 206 with everything from byte 5',
    request: { path: `/v2/${repo}/blobs/${digest}`, headers: { Range: 'bytes=5-' } },
    expect: {
      status: 206,
      headers: { 'Content-Range': 'bytes 5-19/20', 'Content-Length': '15' },
      body: content.slice(5),
    },
  },
  {
    name: 'the suffix Range bytes=-5 answers 206 with the last five bytes',
    request: { path: `/v2/${repo}/blobs/${digest}`, headers: { Range: 'bytes=-5' } },
    expect: {
      status: 206,
      headers: { 'Content-Range': 'bytes 15-19/20', 'Content-Length': '5' },
      body: content.slice(15),
    },
  },
  {
    name: 'a Range whose end is past the blob is cut to the blob and answers 206',
    request: { path: `/v2/${repo}/blobs/${digest}`, headers: { Range: 'bytes=10-99' } },
    expect: {
      status: 206,
      headers: { 'Content-Range': 'bytes 10-19/20' },
      body: content.slice(10),
    },
  },
  {
    name: 'a Range starting at the blob size is unsatisfiable: 416 with Content-Range bytes */20',
    request: { path: `/v2/${repo}/blobs/${digest}`, headers: { Range: 'bytes=20-30' } },
    expect: { status: 416, headers: { 'Content-Range': 'bytes */20' } },
  },
  {
    name: 'a Range far past the end is unsatisfiable: 416',
    request: { path: `/v2/${repo}/blobs/${digest}`, headers: { Range: 'bytes=1000-' } },
    expect: { status: 416 },
  },
  {
    name: 'If-None-Match with the blob ETag answers 304 without a body',
    request: { path: `/v2/${repo}/blobs/${digest}`, headers: { 'If-None-Match': `"${digest}"` } },
    expect: { status: 304, body: '' },
  },
  {
    name: 'DELETE of a blob while deletion is disabled answers 405 UNSUPPORTED and keeps it',
    request: { method: 'DELETE', path: `/v2/${repo}/blobs/${digest}` },
    expect: { status: 405, code: 'UNSUPPORTED' },
    after: async (f) => {
      const path = `/v2/${repo}/blobs/${digest}`;
      const reply = await send(f.noDelete.url, { method: 'HEAD', path });
      assert.equal(reply.status, 200);
    },
  },
];

/** Rows sent to the registry with deletion enabled; each pushes what it deletes. */
const deleteRows: Row<Fixture>[] = [
  {
    name: 'DELETE of a blob answers 202, after which GET answers 404 BLOB_UNKNOWN',
    request: async (f) => {
      await pushBlob(f.reg.url, 'blobs/del', 'to be deleted');
      return { method: 'DELETE', path: `/v2/blobs/del/blobs/${sha256('to be deleted')}` };
    },
    expect: { status: 202 },
    after: async (f) => {
      const get = await send(f.reg.url, { path: `/v2/blobs/del/blobs/${sha256('to be deleted')}` });
      assert.equal(get.status, 404);
      assert.match(get.body.toString(), /BLOB_UNKNOWN/);
    },
  },
  {
    name: 'DELETE of a blob in one repository leaves the same blob in another repository',
    request: async (f) => {
      await pushBlob(f.reg.url, 'blobs/del-a', 'shared bytes');
      await pushBlob(f.reg.url, 'blobs/del-b', 'shared bytes');
      return { method: 'DELETE', path: `/v2/blobs/del-a/blobs/${sha256('shared bytes')}` };
    },
    expect: { status: 202 },
    after: async (f) => {
      const path = `/v2/blobs/del-b/blobs/${sha256('shared bytes')}`;
      const get = await send(f.reg.url, { path });
      assert.equal(get.status, 200);
      assert.equal(get.body.toString(), 'shared bytes');
    },
  },
  {
    name: 'DELETE of a blob the repository does not hold answers 404 BLOB_UNKNOWN',
    request: { method: 'DELETE', path: `/v2/${repo}/blobs/${unknownDigest}` },
    expect: { status: 404, code: 'BLOB_UNKNOWN' },
  },
  {
    name: 'DELETE with a malformed digest answers 400 DIGEST_INVALID',
    request: { method: 'DELETE', path: `/v2/${repo}/blobs/sha256:${hex(63)}` },
    expect: { status: 400, code: 'DIGEST_INVALID' },
  },
];

function suite(driver: DriverName): void {
  describe(`blobs (${driver})`, () => {
    const f = {} as Fixture;
    before(async () => {
      [f.reg, f.noDelete] = await Promise.all([
        startTestRegistry({ driver, deleteEnabled: true }),
        startTestRegistry({ driver, deleteEnabled: false }),
      ]);
      for (const reg of [f.reg, f.noDelete]) {
        await pushBlob(reg.url, repo, content);
        await pushBlob(reg.url, 'blobs/other', otherContent);
      }
    });
    after(() => Promise.all([f.reg?.stop(), f.noDelete?.stop()]));

    for (const row of readRows) {
      test(row.name, async () => {
        const reg = row.expect.code === 'UNSUPPORTED' ? f.noDelete : f.reg;
        await runRow(reg.url, f, row);
      });
    }
    for (const row of deleteRows) {
      test(row.name, async () => {
        await runRow(f.reg.url, f, row);
      });
    }
  });
}

for (const driver of drivers) suite(driver);

test('DELETE of a blob whose link folder holds no link (a push killed before it) answers 404', async () => {
  const reg = await startTestRegistry({ deleteEnabled: true });
  try {
    const orphan = sha256('linked never');
    const dir = join(reg.root, 'docker/registry/v2/repositories/blobs/orphan/_layers/sha256');
    await mkdir(join(dir, orphan.slice('sha256:'.length)), { recursive: true });
    await writeFile(join(dir, orphan.slice('sha256:'.length), '.berth-tmp.left'), orphan);
    const path = `/v2/blobs/orphan/blobs/${orphan}`;
    assert.equal((await send(reg.url, { method: 'HEAD', path })).status, 404);
    const reply = await send(reg.url, { method: 'DELETE', path });
    assert.equal(reply.status, 404);
    assert.match(reply.body.toString(), /BLOB_UNKNOWN/);
  } finally {
    await reg.stop();
  }
});
