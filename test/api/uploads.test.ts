/**
 * Blob uploads (OCI spec "Pushing blobs", end-4a/4b/4c, end-5, end-6, end-11, end-13,
 * end-14; Docker API "Pushing a Layer"): monolithic, POST then PUT, chunked and streamed,
 * mounts, status, cancel, bad ranges and digests, other digest algorithms, concurrency and
 * an upload resumed across a restart. Against both drivers, except what needs a disk.
 */
import { blake3 as blake3Hash } from '@napi-rs/blake-hash';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
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
import { hex, pathOf, runRow, send, withParam, type Reply, type Req, type Row } from './table.js';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const uploadLocation = (repo: string): RegExp =>
  new RegExp(`/v2/${repo}/blobs/uploads/[0-9a-f-]{36}(\\?.*)?$`);
const blobLocation = (repo: string, digest: string): RegExp =>
  new RegExp(`/v2/${repo}/blobs/${digest}$`);

const ten = '0123456789';
const twenty = '0123456789abcdefghij';

function sha512(bytes: Uint8Array | string): string {
  return `sha512:${createHash('sha512').update(bytes).digest('hex')}`;
}

function blake3(bytes: Uint8Array | string): string {
  return `blake3:${blake3Hash(Buffer.from(bytes)).toString('hex')}`;
}

interface Fixture {
  reg: TestRegistry;
  driver: DriverName;
}

/** A repository name of its own for each row, so rows never see each other's data. */
let repoCounter = 0;
function freshRepo(): string {
  repoCounter += 1;
  return `up/r${repoCounter}`;
}

/** Starts an upload (POST); resolves with its Location. */
async function begin(f: Fixture, repo: string, query = ''): Promise<string> {
  const path = `/v2/${repo}/blobs/uploads/${query}`;
  const reply = await send(f.reg.url, { method: 'POST', path });
  assert.equal(reply.status, 202, `POST: ${reply.body.toString()}`);
  return pathOf(reply.header('location'));
}

/** Sends a chunk with its Content-Range; resolves with the reply. */
async function patch(f: Fixture, location: string, chunk: string, start: number): Promise<Reply> {
  const headers = {
    'Content-Type': 'application/octet-stream',
    'Content-Range': `${start}-${start + Buffer.byteLength(chunk) - 1}`,
  };
  return send(f.reg.url, { method: 'PATCH', path: location, headers, body: chunk });
}

/** Begins an upload and sends `first` as its first chunk; resolves with the new Location. */
async function begun(f: Fixture, repo: string, first: string, query = ''): Promise<string> {
  const reply = await patch(f, await begin(f, repo, query), first, 0);
  assert.equal(reply.status, 202, `PATCH: ${reply.body.toString()}`);
  return pathOf(reply.header('location'));
}

/** A single-POST push of `body` as `digest`. */
function mono(repo: string, digest: string, body: string | Buffer): Req {
  return { method: 'POST', path: `/v2/${repo}/blobs/uploads/?digest=${digest}`, body };
}

async function expectBlob(
  f: Fixture,
  repo: string,
  digest: string,
  bytes: string | Buffer,
): Promise<void> {
  const reply = await send(f.reg.url, { path: `/v2/${repo}/blobs/${digest}` });
  assert.equal(reply.status, 200, `GET blob: ${reply.body.toString()}`);
  assert.equal(reply.header('docker-content-digest'), digest);
  assert.deepEqual(reply.body, Buffer.from(bytes), 'the blob bytes');
}

async function expectNoBlob(f: Fixture, repo: string, digest: string): Promise<void> {
  const reply = await send(f.reg.url, { method: 'HEAD', path: `/v2/${repo}/blobs/${digest}` });
  assert.equal(reply.status, 404, `HEAD ${digest}`);
}

async function expectUploadGone(f: Fixture, location: string): Promise<void> {
  const reply = await send(f.reg.url, { path: location });
  assert.equal(reply.status, 404, `GET upload status: ${reply.body.toString()}`);
  assert.match(reply.body.toString(), /BLOB_UPLOAD_UNKNOWN/);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** On disk (filesystem driver): no upload folder left, and no data file for these digests. */
async function expectNothingOnDisk(f: Fixture, repo: string, digests: string[]): Promise<void> {
  if (f.driver !== 'filesystem') return;
  const v2 = join(f.reg.root, 'docker', 'registry', 'v2');
  const uploads = join(v2, 'repositories', ...repo.split('/'), '_uploads');
  const left = await readdir(uploads).catch(() => []);
  assert.deepEqual(left, [], `leftovers under ${uploads}`);
  for (const digest of digests) {
    const [algorithm = '', encoded = ''] = digest.split(':');
    const data = join(v2, 'blobs', algorithm, encoded.slice(0, 2), encoded, 'data');
    assert.equal(await exists(data), false, `${data} must not exist`);
  }
}

const wrongDigest = sha256('something else entirely');
/** Bytes no other row pushes, so that finding them stored means this row stored them. */
const only = 'bytes pushed by no other row of this file';

const rows: Row<Fixture>[] = [
  // Starting an upload.
  {
    name: 'POST starts an upload: 202 with Location, Range 0-0 and Docker-Upload-UUID',
    request: { method: 'POST', path: '/v2/up/start/blobs/uploads/' },
    expect: {
      status: 202,
      headers: {
        Location: uploadLocation('up/start'),
        Range: '0-0',
        'Docker-Upload-UUID': uuidPattern,
      },
    },
    after: (_f, reply) => {
      const uuid = reply.header('docker-upload-uuid') ?? '';
      assert.ok(pathOf(reply.header('location')).includes(uuid), 'Location names the upload');
    },
  },
  {
    name: 'POST without the trailing slash starts an upload too',
    request: { method: 'POST', path: '/v2/up/start/blobs/uploads' },
    expect: { status: 202, headers: { Location: uploadLocation('up/start') } },
  },
  {
    name: 'POST with a junk body and no digest starts an empty upload: 202',
    request: { method: 'POST', path: '/v2/up/junk/blobs/uploads/', body: 'junk junk junk' },
    expect: { status: 202, headers: { Location: uploadLocation('up/junk') } },
  },
  // Single POST.
  {
    name: 'POST ?digest= with the body pushes the blob in one request: 201 with Location',
    request: mono('up/mono', sha256(twenty), twenty),
    expect: {
      status: 201,
      headers: {
        Location: blobLocation('up/mono', sha256(twenty)),
        'Docker-Content-Digest': sha256(twenty),
      },
    },
    after: (f) => expectBlob(f, 'up/mono', sha256(twenty), twenty),
  },
  {
    name: 'POST ?digest= takes the digest percent-encoded (sha256%3A...)',
    request: {
      method: 'POST',
      path: `/v2/up/enc/blobs/uploads/?digest=${sha256(ten).replace(':', '%3A')}`,
      body: ten,
    },
    expect: { status: 201, headers: { 'Docker-Content-Digest': sha256(ten) } },
    after: (f) => expectBlob(f, 'up/enc', sha256(ten), ten),
  },
  {
    name: 'POST ?digest= works with digest after another query parameter',
    request: {
      method: 'POST',
      path: `/v2/up/order/blobs/uploads/?other=1&digest=${sha256('after')}`,
      body: 'after',
    },
    expect: { status: 201, headers: { 'Docker-Content-Digest': sha256('after') } },
    after: (f) => expectBlob(f, 'up/order', sha256('after'), 'after'),
  },
  {
    name: 'POST ?digest= works with digest before another query parameter',
    request: {
      method: 'POST',
      path: `/v2/up/order/blobs/uploads/?digest=${sha256('before')}&other=1`,
      body: 'before',
    },
    expect: { status: 201, headers: { 'Docker-Content-Digest': sha256('before') } },
    after: (f) => expectBlob(f, 'up/order', sha256('before'), 'before'),
  },
  {
    name: 'POST ?digest= of an empty blob with an empty body answers 201 and serves 0 bytes',
    request: { method: 'POST', path: `/v2/up/empty/blobs/uploads/?digest=${sha256('')}` },
    expect: { status: 201, headers: { 'Docker-Content-Digest': sha256('') } },
    after: (f) => expectBlob(f, 'up/empty', sha256(''), ''),
  },
  {
    name: 'POST ?digest= of a 3 MiB blob (several worker batches) stores every byte',
    request: () => {
      const bytes = Buffer.alloc(3 * 1024 * 1024 + 17, 'abcdefgh');
      return mono('up/big', sha256(bytes), bytes);
    },
    expect: { status: 201 },
    after: (f) => {
      const bytes = Buffer.alloc(3 * 1024 * 1024 + 17, 'abcdefgh');
      return expectBlob(f, 'up/big', sha256(bytes), bytes);
    },
  },
  {
    name: 'POST ?digest= with a digest that does not match: 400 DIGEST_INVALID, nothing stored',
    request: mono('up/wrong', wrongDigest, only),
    expect: { status: 400, code: 'DIGEST_INVALID' },
    after: async (f) => {
      await expectNoBlob(f, 'up/wrong', wrongDigest);
      await expectNoBlob(f, 'up/wrong', sha256(only));
      await expectNothingOnDisk(f, 'up/wrong', [wrongDigest, sha256(only)]);
    },
  },
  {
    name: 'POST ?digest= with a malformed digest answers 400 DIGEST_INVALID',
    request: { method: 'POST', path: '/v2/up/bad/blobs/uploads/?digest=sha256:xyz', body: ten },
    expect: { status: 400, code: 'DIGEST_INVALID' },
  },
  {
    name: 'POST ?digest= with an unsupported algorithm (md5) answers 400 DIGEST_INVALID',
    request: { method: 'POST', path: `/v2/up/bad/blobs/uploads/?digest=md5:${hex(32)}`, body: ten },
    expect: { status: 400, code: 'DIGEST_INVALID' },
  },
  {
    name: 'POST ?digest=sha512:... pushes a blob addressed by sha512',
    request: mono('up/sha512', sha512(twenty), twenty),
    expect: { status: 201, headers: { 'Docker-Content-Digest': sha512(twenty) } },
    after: (f) => expectBlob(f, 'up/sha512', sha512(twenty), twenty),
  },
  {
    name: 'POST ?digest=blake3:... pushes a blob addressed by blake3',
    request: mono('up/blake3', blake3(twenty), twenty),
    expect: { status: 201, headers: { 'Docker-Content-Digest': blake3(twenty) } },
    after: (f) => expectBlob(f, 'up/blake3', blake3(twenty), twenty),
  },
  {
    name: 'POST ?digest-algorithm=md5 (unsupported) answers 400 DIGEST_INVALID',
    request: { method: 'POST', path: '/v2/up/alg/blobs/uploads/?digest-algorithm=md5' },
    expect: { status: 400, code: 'DIGEST_INVALID' },
  },
  // POST then PUT, chunked, streamed.
  {
    name: 'POST then PUT ?digest= with the whole body answers 201',
    request: async (f) => ({
      method: 'PUT',
      path: withParam(await begin(f, 'up/put'), 'digest', sha256(twenty)),
      headers: { 'Content-Type': 'application/octet-stream' },
      body: twenty,
    }),
    expect: {
      status: 201,
      headers: {
        Location: blobLocation('up/put', sha256(twenty)),
        'Docker-Content-Digest': sha256(twenty),
      },
    },
    after: (f) => expectBlob(f, 'up/put', sha256(twenty), twenty),
  },
  {
    name: 'a PATCH with Content-Range and Content-Length answers 202 with Range 0-9',
    request: async (f) => ({
      method: 'PATCH',
      path: await begin(f, 'up/chunk'),
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': '0-9' },
      body: ten,
    }),
    expect: {
      status: 202,
      headers: {
        Location: uploadLocation('up/chunk'),
        Range: '0-9',
        'Docker-Upload-UUID': uuidPattern,
      },
    },
  },
  {
    name: 'POST, PATCH 0-9, PATCH 10-19, then an empty PUT ?digest= answers 201',
    request: async (f) => {
      const first = await begun(f, 'up/chunks', ten);
      const second = await patch(f, first, 'abcdefghij', 10);
      assert.equal(second.status, 202);
      assert.equal(second.header('range'), '0-19');
      const path = withParam(second.header('location'), 'digest', sha256(twenty));
      return { method: 'PUT', path };
    },
    expect: { status: 201, headers: { 'Docker-Content-Digest': sha256(twenty) } },
    after: (f) => expectBlob(f, 'up/chunks', sha256(twenty), twenty),
  },
  {
    name: 'POST, PATCH 0-9, then PUT ?digest= carrying the last chunk 10-19 answers 201',
    request: async (f) => ({
      method: 'PUT',
      path: withParam(await begun(f, 'up/lastput', ten), 'digest', sha256(twenty)),
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': '10-19' },
      body: 'abcdefghij',
    }),
    expect: { status: 201 },
    after: (f) => expectBlob(f, 'up/lastput', sha256(twenty), twenty),
  },
  {
    name: 'a PATCH sent chunked (no Content-Length) is appended: 202 with Range 0-19',
    request: async (f) => ({
      method: 'PATCH',
      path: await begin(f, 'up/stream'),
      headers: { 'Content-Type': 'application/octet-stream' },
      chunks: ['01234', '56789', 'abcdefghij'],
    }),
    expect: { status: 202, headers: { Range: '0-19' } },
    after: async (f, reply) => {
      const path = withParam(reply.header('location'), 'digest', sha256(twenty));
      const put = await send(f.reg.url, { method: 'PUT', path });
      assert.equal(put.status, 201, put.body.toString());
      await expectBlob(f, 'up/stream', sha256(twenty), twenty);
    },
  },
  {
    name: 'two streamed PATCHes without Content-Range append in order, then PUT answers 201',
    request: async (f) => {
      const first = await send(f.reg.url, {
        method: 'PATCH',
        path: await begin(f, 'up/stream2'),
        chunks: [ten],
      });
      assert.equal(first.status, 202);
      const second = await send(f.reg.url, {
        method: 'PATCH',
        path: pathOf(first.header('location')),
        chunks: ['abcde', 'fghij'],
      });
      assert.equal(second.status, 202);
      assert.equal(second.header('range'), '0-19');
      const path = withParam(second.header('location'), 'digest', sha256(twenty));
      return { method: 'PUT', path };
    },
    expect: { status: 201 },
    after: (f) => expectBlob(f, 'up/stream2', sha256(twenty), twenty),
  },
  {
    name: 'three chunked PATCHes of 1.5 MiB each, then PUT, store a 4.5 MiB blob exactly',
    request: async (f) => {
      const part = (c: string): Buffer => Buffer.alloc(1536 * 1024, c);
      let location = await begin(f, 'up/bigchunks');
      for (const c of ['x', 'y', 'z']) {
        const reply = await send(f.reg.url, { method: 'PATCH', path: location, chunks: [part(c)] });
        assert.equal(reply.status, 202, reply.body.toString());
        location = pathOf(reply.header('location'));
      }
      const all = Buffer.concat(['x', 'y', 'z'].map(part));
      return { method: 'PUT', path: withParam(location, 'digest', sha256(all)) };
    },
    expect: { status: 201 },
    after: (f) => {
      const all = Buffer.concat(['x', 'y', 'z'].map((c) => Buffer.alloc(1536 * 1024, c)));
      return expectBlob(f, 'up/bigchunks', sha256(all), all);
    },
  },
  {
    name: 'POST ?digest-algorithm=sha512, PATCH, then PUT ?digest=sha512:... answers 201',
    request: async (f) => {
      const location = await begun(f, 'up/alg512', twenty, '?digest-algorithm=sha512');
      return { method: 'PUT', path: withParam(location, 'digest', sha512(twenty)) };
    },
    expect: { status: 201, headers: { 'Docker-Content-Digest': sha512(twenty) } },
    after: (f) => expectBlob(f, 'up/alg512', sha512(twenty), twenty),
  },
  {
    name: 'an upload hashed as sha256 and closed with a sha512 digest is still checked right: 201',
    request: async (f) => ({
      method: 'PUT',
      path: withParam(await begun(f, 'up/switch', twenty), 'digest', sha512(twenty)),
    }),
    expect: { status: 201, headers: { 'Docker-Content-Digest': sha512(twenty) } },
    after: (f) => expectBlob(f, 'up/switch', sha512(twenty), twenty),
  },
  {
    name: 'a PATCH to an upload already completed answers 404 BLOB_UPLOAD_UNKNOWN',
    request: async (f) => {
      const location = await begun(f, 'up/done', ten);
      const path = withParam(location, 'digest', sha256(ten));
      const put = await send(f.reg.url, { method: 'PUT', path });
      assert.equal(put.status, 201, put.body.toString());
      return { method: 'PATCH', path: location, headers: { 'Content-Range': '10-19' }, body: ten };
    },
    expect: { status: 404, code: 'BLOB_UPLOAD_UNKNOWN' },
  },
  // Status.
  {
    name: 'GET on an upload answers 204 with Range 0-(n-1), its Location and Docker-Upload-UUID',
    request: async (f) => ({ path: await begun(f, 'up/status', ten) }),
    expect: {
      status: 204,
      headers: {
        Range: '0-9',
        Location: uploadLocation('up/status'),
        'Docker-Upload-UUID': uuidPattern,
      },
      body: '',
    },
  },
  {
    name: 'GET on an upload with no bytes yet answers 204 with Range 0-0',
    request: async (f) => ({ path: await begin(f, 'up/status') }),
    expect: { status: 204, headers: { Range: '0-0' } },
  },
  // Out of order and malformed ranges.
  {
    name: 'a PATCH starting past the end answers 416 with Range giving the current end',
    request: async (f) => ({
      method: 'PATCH',
      path: await begun(f, 'up/gap', ten),
      headers: { 'Content-Range': '15-19' },
      body: 'fghij',
    }),
    expect: { status: 416, headers: { Range: '0-9' } },
  },
  {
    name: 'a PATCH overlapping bytes already received answers 416 and the upload stays usable',
    request: async (f) => {
      const location = await begun(f, 'up/overlap', ten);
      const reply = await patch(f, location, 'abcdefghij', 5);
      assert.equal(reply.status, 416, reply.body.toString());
      assert.equal(reply.header('range'), '0-9');
      return { path: location };
    },
    expect: { status: 204, headers: { Range: '0-9' } },
    after: async (f, reply) => {
      const location = pathOf(reply.header('location'));
      const resumed = await patch(f, location, 'abcdefghij', 10);
      assert.equal(resumed.status, 202, resumed.body.toString());
      const put = await send(f.reg.url, {
        method: 'PUT',
        path: withParam(resumed.header('location'), 'digest', sha256(twenty)),
      });
      assert.equal(put.status, 201, put.body.toString());
      await expectBlob(f, 'up/overlap', sha256(twenty), twenty);
    },
  },
  {
    name: 'a first PATCH that does not start at 0 answers 416',
    request: async (f) => ({
      method: 'PATCH',
      path: await begin(f, 'up/notzero'),
      headers: { 'Content-Range': '5-14' },
      body: ten,
    }),
    expect: { status: 416, headers: { Range: /^0-0$/ } },
  },
  {
    name: 'a closing PUT whose last chunk is out of order answers 416',
    request: async (f) => ({
      method: 'PUT',
      path: withParam(await begun(f, 'up/putgap', ten), 'digest', sha256(twenty)),
      headers: { 'Content-Range': '12-21' },
      body: 'abcdefghij',
    }),
    expect: { status: 416 },
  },
  {
    name: 'a PATCH whose Content-Range ends before it starts answers 416 RANGE_INVALID',
    request: async (f) => ({
      method: 'PATCH',
      path: await begin(f, 'up/badrange'),
      headers: { 'Content-Range': '9-0' },
      body: ten,
    }),
    expect: { status: 416, code: 'RANGE_INVALID' },
  },
  {
    name: 'a PATCH whose Content-Range length differs from Content-Length answers 416',
    request: async (f) => ({
      method: 'PATCH',
      path: await begin(f, 'up/badrange'),
      headers: { 'Content-Range': '0-19' },
      body: ten,
    }),
    expect: { status: 416, code: 'RANGE_INVALID' },
  },
  {
    // Docker API "Chunked Upload": a 416 is returned for an "Invalid Content-Range header
    // format". The OCI spec only gives the grammar ^[0-9]+-[0-9]+$.
    name: 'a PATCH with a malformed Content-Range (abc) answers 416 as the Docker API says',
    request: async (f) => ({
      method: 'PATCH',
      path: await begin(f, 'up/badrange'),
      headers: { 'Content-Range': 'abc' },
      body: ten,
    }),
    expect: { status: 416, code: 'RANGE_INVALID' },
  },
  // Closing with bad digests.
  {
    name: 'a PUT without ?digest= answers 400 DIGEST_INVALID',
    request: async (f) => ({ method: 'PUT', path: await begun(f, 'up/nodigest', ten) }),
    expect: { status: 400, code: 'DIGEST_INVALID' },
  },
  {
    name: 'a PUT with a malformed digest answers 400 DIGEST_INVALID',
    request: async (f) => ({
      method: 'PUT',
      path: withParam(await begun(f, 'up/baddigest', ten), 'digest', 'sha256:xyz'),
    }),
    expect: { status: 400, code: 'DIGEST_INVALID' },
  },
  {
    name: 'a PUT whose digest does not match answers 400 DIGEST_INVALID and the upload is gone',
    request: async (f) => ({
      method: 'PUT',
      path: withParam(await begun(f, 'up/mismatch', ten), 'digest', wrongDigest),
    }),
    expect: { status: 400, code: 'DIGEST_INVALID' },
  },
  // Cancel and unknown uploads.
  {
    name: 'DELETE on an upload answers 204 without a body',
    request: async (f) => ({ method: 'DELETE', path: await begun(f, 'up/cancel', ten) }),
    expect: { status: 204, body: '' },
  },
  ...(['GET', 'PATCH', 'PUT', 'DELETE'] as const).map((method): Row<Fixture> => ({
    name: `${method} on an upload id never issued answers 404 BLOB_UPLOAD_UNKNOWN`,
    request: {
      method,
      path:
        `/v2/up/unknown/blobs/uploads/${randomUUID()}` +
        (method === 'PUT' ? `?digest=${sha256(ten)}` : ''),
      ...(method === 'PATCH' || method === 'PUT' ? { body: ten } : {}),
    },
    expect: { status: 404, code: 'BLOB_UPLOAD_UNKNOWN' },
  })),
  {
    name: 'GET on an upload id that is not a UUID answers 404 BLOB_UPLOAD_UNKNOWN',
    request: { path: '/v2/up/unknown/blobs/uploads/not-an-upload' },
    expect: { status: 404, code: 'BLOB_UPLOAD_UNKNOWN' },
  },
  {
    name: 'a tampered _state (signature changed) answers 400 BLOB_UPLOAD_INVALID',
    request: async (f) => {
      // The first character of the MAC: all six of its bits count (the last one's may not).
      const location = await begun(f, 'up/tamper', ten);
      const at = location.lastIndexOf('.') + 1;
      const flipped = location[at] === 'A' ? 'g' : 'A';
      const path = `${location.slice(0, at)}${flipped}${location.slice(at + 1)}`;
      return { method: 'PATCH', path, body: ten };
    },
    expect: { status: 400, code: 'BLOB_UPLOAD_INVALID' },
  },
  {
    name: 'a streamed PATCH resent to the Location it went to answers 400 BLOB_UPLOAD_INVALID and appends nothing',
    request: async (f) => {
      const first = await begin(f, freshRepo());
      const sent = await send(f.reg.url, { method: 'PATCH', path: first, body: ten });
      assert.equal(sent.status, 202, `PATCH: ${sent.body.toString()}`);
      return { method: 'PATCH', path: first, body: ten };
    },
    expect: { status: 400, code: 'BLOB_UPLOAD_INVALID' },
    after: async (f, reply) => {
      assert.match(reply.body.toString(), /wrong offset/);
      assert.equal(reply.header('location'), null, 'no Location on the refusal');
    },
  },
  {
    name: 'after a refused resend the upload holds the bytes once and completes with the latest Location',
    request: async (f) => {
      const first = await begin(f, freshRepo());
      const sent = await send(f.reg.url, { method: 'PATCH', path: first, body: ten });
      assert.equal(sent.status, 202, `PATCH: ${sent.body.toString()}`);
      const again = await send(f.reg.url, { method: 'PATCH', path: first, body: ten });
      assert.equal(again.status, 400);
      const status = await send(f.reg.url, { path: first });
      assert.equal(status.status, 204);
      assert.equal(status.header('range'), '0-9');
      const latest = pathOf(sent.header('location'));
      return { method: 'PUT', path: withParam(latest, 'digest', sha256(ten)) };
    },
    expect: { status: 201 },
  },
  {
    name: 'a PUT with a body sent to an older Location answers 400 BLOB_UPLOAD_INVALID',
    request: async (f) => {
      const first = await begin(f, freshRepo());
      const sent = await send(f.reg.url, { method: 'PATCH', path: first, body: ten });
      assert.equal(sent.status, 202, `PATCH: ${sent.body.toString()}`);
      return { method: 'PUT', path: withParam(first, 'digest', sha256(ten + ten)), body: ten };
    },
    expect: { status: 400, code: 'BLOB_UPLOAD_INVALID' },
  },
  {
    name: 'a _state that is not a token at all answers 400 BLOB_UPLOAD_INVALID',
    request: async (f) => {
      const location = await begun(f, 'up/tamper', ten);
      return { path: location.replace(/_state=[^&]*/, '_state=garbage') };
    },
    expect: { status: 400, code: 'BLOB_UPLOAD_INVALID' },
  },
  {
    name: 'the Location of an upload in repository a, used on repository b, is refused',
    request: async (f) => {
      const location = await begun(f, 'up/state-a', ten);
      const path = location.replace('/v2/up/state-a/', '/v2/up/state-b/');
      return { method: 'PATCH', path, body: ten };
    },
    expect: { status: [400, 404], code: ['BLOB_UPLOAD_INVALID', 'BLOB_UPLOAD_UNKNOWN'] },
  },
  {
    name: 'an upload id of repository a used on repository b without _state answers 404',
    request: async (f) => {
      const location = await begun(f, 'up/id-a', ten);
      const id = /uploads\/([^?]+)/.exec(location)?.[1] ?? '';
      return { path: `/v2/up/id-b/blobs/uploads/${id}` };
    },
    expect: { status: 404, code: 'BLOB_UPLOAD_UNKNOWN' },
  },
  // Mounts.
  {
    name: 'POST ?mount=&from= of a blob the source holds mounts it: 201 with Location',
    request: async (f) => {
      await pushBlob(f.reg.url, 'up/mount-src', 'mounted bytes');
      return {
        method: 'POST',
        path: `/v2/up/mount-dst/blobs/uploads/?mount=${sha256('mounted bytes')}&from=up/mount-src`,
      };
    },
    expect: {
      status: 201,
      headers: {
        Location: blobLocation('up/mount-dst', sha256('mounted bytes')),
        'Docker-Content-Digest': sha256('mounted bytes'),
      },
    },
    after: (f) => expectBlob(f, 'up/mount-dst', sha256('mounted bytes'), 'mounted bytes'),
  },
  {
    name: 'POST ?from=&mount= (from first) mounts as well: 201',
    request: async (f) => {
      await pushBlob(f.reg.url, 'up/mount-src2', 'mounted 2');
      return {
        method: 'POST',
        path: `/v2/up/mount-dst2/blobs/uploads/?from=up/mount-src2&mount=${sha256('mounted 2')}`,
      };
    },
    expect: { status: 201, headers: { 'Docker-Content-Digest': sha256('mounted 2') } },
    after: (f) => expectBlob(f, 'up/mount-dst2', sha256('mounted 2'), 'mounted 2'),
  },
  {
    name: 'POST ?mount=&from= of a blob the source lacks starts an upload instead: 202',
    request: {
      method: 'POST',
      path: `/v2/up/mount-dst3/blobs/uploads/?mount=${sha256('nowhere')}&from=up/mount-src`,
    },
    expect: {
      status: 202,
      headers: { Location: uploadLocation('up/mount-dst3'), 'Docker-Upload-UUID': uuidPattern },
    },
    after: (f) => expectNoBlob(f, 'up/mount-dst3', sha256('nowhere')),
  },
  {
    name: 'POST ?mount= from a repository that does not exist starts an upload: 202',
    request: {
      method: 'POST',
      path: `/v2/up/mount-dst4/blobs/uploads/?mount=${sha256(ten)}&from=up/no-such-repo`,
    },
    expect: { status: 202, headers: { Location: uploadLocation('up/mount-dst4') } },
  },
];

function suite(driver: DriverName): void {
  describe(`blob uploads (${driver})`, () => {
    const f = { driver } as Fixture;
    before(async () => {
      f.reg = await startTestRegistry({ driver });
    });
    after(() => f.reg?.stop());

    for (const row of rows) {
      test(row.name, async () => {
        await runRow(f.reg.url, f, row);
      });
    }

    test('after a PUT with a wrong digest the upload answers 404 BLOB_UPLOAD_UNKNOWN', async () => {
      const repo = freshRepo();
      const bytes = randomBytes(32).toString('hex');
      const location = await begun(f, repo, bytes);
      const path = withParam(location, 'digest', wrongDigest);
      const put = await send(f.reg.url, { method: 'PUT', path });
      assert.equal(put.status, 400);
      await expectUploadGone(f, location);
      await expectNothingOnDisk(f, repo, [sha256(bytes), wrongDigest]);
    });

    test('after DELETE on an upload, GET and DELETE answer 404 BLOB_UPLOAD_UNKNOWN', async () => {
      const repo = freshRepo();
      const bytes = randomBytes(32).toString('hex');
      const location = await begun(f, repo, bytes);
      const del = await send(f.reg.url, { method: 'DELETE', path: location });
      assert.equal(del.status, 204);
      await expectUploadGone(f, location);
      const again = await send(f.reg.url, { method: 'DELETE', path: location });
      assert.equal(again.status, 404);
      await expectNothingOnDisk(f, repo, [sha256(bytes)]);
    });

    test('ten concurrent single POSTs of one blob to one repository all answer 201', async () => {
      const repo = freshRepo();
      const bytes = randomBytes(64 * 1024);
      const digest = sha256(bytes);
      const replies = await Promise.all(
        Array.from({ length: 10 }, () => send(f.reg.url, mono(repo, digest, bytes))),
      );
      assert.deepEqual(
        replies.map((r) => r.status),
        Array.from({ length: 10 }, () => 201),
      );
      await expectBlob(f, repo, digest, bytes);
    });

    test('ten concurrent single POSTs of one blob to five repositories answer 201', async () => {
      const repos = Array.from({ length: 5 }, () => freshRepo());
      const bytes = randomBytes(64 * 1024);
      const digest = sha256(bytes);
      const replies = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          send(f.reg.url, mono(repos[i % 5] ?? '', digest, bytes)),
        ),
      );
      assert.deepEqual(
        replies.map((r) => r.status),
        Array.from({ length: 10 }, () => 201),
      );
      for (const repo of repos) await expectBlob(f, repo, digest, bytes);
    });
  });
}

for (const driver of drivers) suite(driver);

describe('blob uploads across a restart (filesystem)', () => {
  let root = '';
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-api-restart-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  test('an upload begun before a restart is finished after it, on a new port: 201', async () => {
    const first = await startTestRegistry({ root });
    const f1: Fixture = { reg: first, driver: 'filesystem' };
    let location: string;
    try {
      location = await begun(f1, 'up/restart', ten);
    } finally {
      await first.stop();
    }
    const second = await startTestRegistry({ root });
    const f2: Fixture = { reg: second, driver: 'filesystem' };
    try {
      assert.notEqual(second.port, first.port);
      const more = await patch(f2, location, 'abcdefghij', 10);
      assert.equal(more.status, 202, more.body.toString());
      assert.equal(more.header('range'), '0-19');
      const put = await send(second.url, {
        method: 'PUT',
        path: withParam(more.header('location'), 'digest', sha256(twenty)),
      });
      assert.equal(put.status, 201, put.body.toString());
      assert.equal(put.header('docker-content-digest'), sha256(twenty));
      await expectBlob(f2, 'up/restart', sha256(twenty), twenty);
    } finally {
      await second.stop();
    }
  });
});
