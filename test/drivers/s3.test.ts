/**
 * The driver suite against the s3 driver on a real S3 service (Ceph RGW on a private
 * in-memory cluster, one for the whole file, a fresh `rootdirectory` per test), then what is
 * particular to S3: uploads resumed by another instance, multipart copies, paged listings,
 * presigned URLs, and the Go registry reading what the driver wrote.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HeadObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { repositoryNames } from '../../src/core/catalog.js';
import * as layout from '../../src/core/paths.js';
import type { FileWriter } from '../../src/drivers/driver.js';
import { PathNotFoundError, StorageDriverError } from '../../src/drivers/driver.js';
import { applyStorageMiddleware } from '../../src/drivers/middleware/index.js';
import { parseS3Params, S3Driver, type S3DriverOptions } from '../../src/drivers/s3/index.js';
import { parseDigest, type Digest } from '../../src/oci/digest.js';
import { RangesServer } from '../helpers/ip-ranges.js';
import { startGoRegistryOnS3, startRadosgw, type Radosgw } from '../helpers/radosgw.js';
import { collect, readAll, runDriverSuite } from './driver-suite.js';
import { HEAP_LIMIT, listScaleFolder, scaleName } from './listing-scale.js';

const MiB = 1024 * 1024;
/**
 * Children of the listFrom scale test: 2 500 by default (three pages of 1 000), the issue's
 * 100 000 with BERTH_S3_SCALE=1 (some minutes of writes to the gateway).
 */
const scaleCount = process.env['BERTH_S3_SCALE'] === '1' ? 100_000 : 2_500;
let rgw: Radosgw | undefined;
let roots = 0;

function gateway(): Radosgw {
  assert.ok(rgw, 'radosgw is running');
  return rgw;
}

/** A `rootdirectory` no other test uses. */
function freshRoot(): string {
  roots++;
  return `/berth-${process.pid}-${roots}`;
}

/** A driver on the gateway with 5 MiB parts (S3's minimum), so small tests span parts. */
function makeDriver(
  root: string,
  extra: Record<string, unknown> = {},
  options: S3DriverOptions = {},
): S3Driver {
  const params = { ...gateway().params(root), chunksize: 5 * MiB, ...extra };
  return new S3Driver(parseS3Params(params), options);
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Writes `bytes` in 64 KiB chunks from one reused buffer, as the HTTP layer does. */
async function writeInChunks(w: FileWriter, bytes: Buffer): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024);
  for (let at = 0; at < bytes.length; at += chunk.length) {
    const n = bytes.copy(chunk, 0, at, at + chunk.length);
    await w.write(n === chunk.length ? chunk : chunk.subarray(0, n));
  }
}

/** Writes every path with `content`, 48 requests in flight. */
async function putAll(d: S3Driver, paths: readonly string[], content = 'x'): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < paths.length; i = next++) await d.putContent(paths[i] ?? '', content);
  };
  await Promise.all(Array.from({ length: 48 }, lane));
}

/** How many multipart uploads are in progress below a `rootdirectory`. */
async function uploadsUnder(root: string): Promise<number> {
  const client = gateway().client();
  try {
    const prefix = root.slice(1);
    const out = await client.send(
      new ListMultipartUploadsCommand({ Bucket: gateway().bucket, Prefix: prefix }),
    );
    return out.Uploads?.length ?? 0;
  } finally {
    client.destroy();
  }
}

before(async () => {
  rgw = await startRadosgw();
});

after(async () => {
  await rgw?.stop();
});

test('a radosgw cluster runs on loopback with a user and a bucket', async (t) => {
  const { endpoint, startupMs } = gateway();
  t.diagnostic(`radosgw cluster started in ${startupMs} ms at ${endpoint}`);
  assert.match(endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
  const res = await fetch(endpoint);
  await res.arrayBuffer();
  assert.equal(res.status, 200);
});

runDriverSuite('s3', async () => ({
  // The suite expects drivers without URLs; presigned URLs have their own test below.
  driver: makeDriver(freshRoot(), {}, { redirect: false }),
  // Each test has its own rootdirectory; the cluster and its memory go with the file.
  cleanup: async () => undefined,
}));

describe('s3 storage driver on radosgw', () => {
  test('a writer closed after 7 MiB continues in another instance to the exact size', async () => {
    const root = freshRoot();
    const source = randomBytes(13 * MiB);
    const first = makeDriver(root);
    const w1 = await first.writer('/up/data', true);
    await writeInChunks(w1, source.subarray(0, 7 * MiB));
    assert.equal(w1.size, 7 * MiB);
    await w1.close();

    const replica = makeDriver(root);
    const w2 = await replica.writer('/up/data', true);
    assert.equal(w2.size, 7 * MiB);
    // What the registry does on resume: re-read the bytes so far to rebuild its hash.
    const sofar = await readAll(await replica.reader('/up/data'));
    assert.equal(sha256(sofar), sha256(source.subarray(0, 7 * MiB)));
    await writeInChunks(w2, source.subarray(7 * MiB));
    assert.equal(w2.size, 13 * MiB);
    await w2.commit();

    assert.equal((await replica.stat('/up/data')).size, 13 * MiB);
    assert.equal(sha256(await replica.getContent('/up/data')), sha256(source));
    assert.equal(await uploadsUnder(root), 0);
  });

  test('uploads resumed on both sides of the 5 MiB part minimum keep every byte', async () => {
    const root = freshRoot();
    const rounds = [MiB + 3, 3 * MiB, 2 * MiB, 64 * 1024, 6 * MiB + 1];
    const source = randomBytes(rounds.reduce((a, b) => a + b, 0));
    let at = 0;
    for (const length of rounds) {
      const w = await makeDriver(root).writer('/resume/data', true);
      assert.equal(w.size, at);
      await writeInChunks(w, source.subarray(at, at + length));
      at += length;
      await w.close();
    }
    const last = await makeDriver(root).writer('/resume/data', true);
    assert.equal(last.size, source.length);
    await last.commit();
    assert.equal(sha256(await makeDriver(root).getContent('/resume/data')), sha256(source));
    assert.equal(await uploadsUnder(root), 0);
  });

  test('20 MiB written in 64 KiB chunks reads back with the same sha256', async () => {
    const d = makeDriver(freshRoot(), { chunksize: 10 * MiB });
    const source = randomBytes(20 * MiB);
    const w = await d.writer('/big/data', false);
    await writeInChunks(w, source);
    await w.commit();
    assert.equal((await d.stat('/big/data')).size, source.length);
    const hash = createHash('sha256');
    for await (const part of await d.reader('/big/data')) hash.update(part as Buffer);
    assert.equal(hash.digest('hex'), sha256(source));
  });

  test('a stale writer cannot start an upload once another instance took the key', async () => {
    const root = freshRoot();
    const stale = await makeDriver(root).writer('/race/data', true);
    await stale.write(Buffer.alloc(1000, 1));
    const current = await makeDriver(root).writer('/race/data', true);
    await current.write(Buffer.alloc(2000, 2));
    await current.close();
    await assert.rejects(stale.close(), StorageDriverError);
    const resumed = await makeDriver(root).writer('/race/data', true);
    assert.equal(resumed.size, 2000);
    await resumed.commit();
    assert.deepEqual(await makeDriver(root).getContent('/race/data'), Buffer.alloc(2000, 2));
  });

  test('a move above the multipart-copy threshold is a copy in parts and a delete', async () => {
    const root = freshRoot();
    const d = makeDriver(root, {
      multipartcopythresholdsize: 5 * MiB,
      multipartcopychunksize: 5 * MiB,
      multipartcopymaxconcurrency: 2,
    });
    const source = randomBytes(12 * MiB + 5);
    await d.putContent('/mv/src', source);
    await d.move('/mv/src', '/mv/deep/dst');
    assert.equal(sha256(await d.getContent('/mv/deep/dst')), sha256(source));
    await assert.rejects(d.stat('/mv/src'), PathNotFoundError);
    const client = gateway().client();
    const head = await client.send(
      new HeadObjectCommand({ Bucket: gateway().bucket, Key: `${root.slice(1)}/mv/deep/dst` }),
    );
    client.destroy();
    // A multipart object's ETag ends in the number of its parts: 12 MiB in two 6 MiB pieces.
    assert.match(head.ETag ?? '', /-2"?$/);
    assert.equal(await uploadsUnder(root), 0);
  });

  test('list pages through a folder of 2500 files and directories', async () => {
    const d = makeDriver(freshRoot());
    const expected: string[] = [];
    const writes: string[] = [];
    for (let i = 0; i < 2500; i++) {
      const child = `/many/e${String(i).padStart(4, '0')}`;
      expected.push(child);
      writes.push(i % 25 === 0 ? `${child}/inner` : child);
    }
    let next = 0;
    const lane = async (): Promise<void> => {
      for (let i = next++; i < writes.length; i = next++) await d.putContent(writes[i] ?? '', 'x');
    };
    await Promise.all(Array.from({ length: 48 }, lane));
    const listed = await d.list('/many');
    assert.equal(listed.length, 2500);
    assert.deepEqual(listed.sort(), expected);
    assert.equal((await d.stat('/many/e0025')).isDir, true);
  });

  test(`listFrom pages through ${scaleCount} children in order, and delete removes them all`, async (t) => {
    const d = makeDriver(freshRoot());
    // Every 25th child a folder, so that pages mix keys and common prefixes.
    const paths = Array.from({ length: scaleCount }, (_, i) =>
      i % 25 === 0 ? `/scale/${scaleName(i)}/inner` : `/scale/${scaleName(i)}`,
    );
    await putAll(d, paths, '');
    const streamed = await listScaleFolder(d, '/scale', scaleCount);
    const fromMiddle = await listScaleFolder(d, '/scale', scaleCount, Math.floor(scaleCount * 0.6));
    t.diagnostic(`heap growth: listFrom ${streamed} B, from the middle ${fromMiddle} B`);
    assert.ok(streamed < HEAP_LIMIT && fromMiddle < HEAP_LIMIT);
    await d.delete('/scale');
    await assert.rejects(d.stat('/scale'), PathNotFoundError);
    await assert.rejects(collect(d.listFrom('/scale')), PathNotFoundError);
  });

  test('listFrom yields a folder before the names extending it across a page boundary', async () => {
    const d = makeDriver(freshRoot());
    // 999 keys, then `b-1` ends the first page of 1000; the folder `b/` is on the second.
    const before = Array.from({ length: 999 }, (_, i) => `/pb/a${String(i).padStart(4, '0')}`);
    await putAll(d, [...before, '/pb/b-1', '/pb/b.2', '/pb/b/x', '/pb/c']);
    const tail = ['/pb/b', '/pb/b-1', '/pb/b.2', '/pb/c'];
    assert.deepEqual(await collect(d.listFrom('/pb')), [...before, ...tail]);
    assert.deepEqual(await collect(d.listFrom('/pb', 'a0998')), tail);
    assert.deepEqual(await collect(d.listFrom('/pb', 'b')), tail.slice(1));
  });

  test('the catalog walk yields repositories in string order on S3, after any name', async () => {
    const d = makeDriver(freshRoot());
    const repos = ['a', 'a-b', 'a-b/x', 'a.c', 'a/b', 'a/b-c', 'a/b/c', 'a0', 'org/team/app'];
    const links = repos.map((name) => `${layout.repositoriesRoot}/${name}/_layers/sha256/ab/link`);
    await putAll(d, [...links, `${layout.repositoriesRoot}/org/only/_uploads/u/data`]);
    const sorted = [...repos].sort();
    assert.deepEqual(await collect(repositoryNames(d)), sorted);
    for (const last of ['a', 'a-', 'a-b', 'a/', 'a/b', 'a0', 'org/team']) {
      const want = sorted.filter((name) => name > last);
      assert.deepEqual(await collect(repositoryNames(d, undefined, last)), want, last);
    }
  });

  test('a presigned URL serves the bytes to a plain fetch, GET and HEAD', async () => {
    const d = makeDriver(freshRoot());
    const bytes = randomBytes(100_000);
    await d.putContent('/signed/data', bytes);
    const url = await d.redirectURL('GET', '/signed/data');
    assert.ok(url !== null && url.startsWith(`${gateway().endpoint}/`), String(url));
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
    const headURL = await d.redirectURL('HEAD', '/signed/data');
    assert.ok(headURL !== null);
    const head = await fetch(headURL, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(bytes.length));
  });

  test('cloudfront with ipfilteredby aws hands a client inside AWS a working presigned URL', async () => {
    const ranges = new RangesServer();
    await ranges.listen();
    const dir = await mkdtemp(join(tmpdir(), 'berth-s3-cf-'));
    const keyFile = join(dir, 'cf.pem');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(keyFile, privateKey.export({ type: 'pkcs1', format: 'pem' }));
    const options = {
      baseurl: 'https://d111.cf.test/',
      privatekey: keyFile,
      keypairid: 'KP1',
      ipfilteredby: 'aws',
      iprangesurl: ranges.url,
    };
    const mw = applyStorageMiddleware(makeDriver(freshRoot()), [{ name: 'cloudfront', options }]);
    try {
      const bytes = randomBytes(10_000);
      await mw.driver.putContent('/cf/data', bytes);
      mw.start();
      let url: string | null = null;
      for (let i = 0; i < 250 && !(url?.startsWith(gateway().endpoint) ?? false); i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        url = await mw.driver.redirectURL('GET', '/cf/data', '192.0.2.10');
      }
      assert.ok(url !== null && url.startsWith(`${gateway().endpoint}/`), String(url));
      const res = await fetch(url);
      assert.equal(res.status, 200);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
      const outside = await mw.driver.redirectURL('GET', '/cf/data', '203.0.113.10');
      assert.match(outside ?? '', /^https:\/\/d111\.cf\.test\/.*Key-Pair-Id=KP1/);
    } finally {
      mw.stop();
      await ranges.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a bucket that does not exist is a StorageDriverError, not a missing path', async () => {
    const d = makeDriver(freshRoot(), { bucket: 'no-such-bucket' });
    const err = await d.getContent('/x').then(
      () => assert.fail('read from a missing bucket'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof StorageDriverError && !(err instanceof PathNotFoundError));
    assert.match(err.message, /NoSuchBucket/);
    assert.ok(err.cause !== undefined);
  });

  test('the Go registry serves a blob and a manifest written through the driver', async () => {
    const root = freshRoot();
    const d = makeDriver(root);
    const name = 'library/hello';
    const layer = Buffer.from('a layer written by Berth through the s3 driver\n');
    const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers"}}');
    const layerDigest = digestOf(layer);
    const configDigest = digestOf(config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: configDigest.value,
          size: config.length,
        },
        layers: [
          {
            mediaType: 'application/vnd.oci.image.layer.v1.tar',
            digest: layerDigest.value,
            size: layer.length,
          },
        ],
      }),
    );
    const manifestDigest = digestOf(manifest);

    // The layer goes the way an upload does: a writer on the upload's data, then a move.
    const upload = layout.uploadDataPath(name, '0d6a2b1e-5c1f-4d7e-9a3b-2f4e6c8d0a1b');
    const w = await d.writer(upload, true);
    await w.write(layer);
    await w.commit();
    await d.move(upload, layout.blobDataPath(layerDigest));
    await d.putContent(layout.blobDataPath(configDigest), config);
    await d.putContent(layout.blobDataPath(manifestDigest), manifest);
    for (const digest of [layerDigest, configDigest]) {
      await d.putContent(layout.layerLinkPath(name, digest), digest.value);
    }
    await d.putContent(layout.revisionLinkPath(name, manifestDigest), manifestDigest.value);
    await d.putContent(layout.tagCurrentLinkPath(name, 'v1'), manifestDigest.value);
    await d.putContent(layout.tagIndexLinkPath(name, 'v1', manifestDigest), manifestDigest.value);

    const go = await startGoRegistryOnS3(gateway(), root);
    try {
      const accept = { accept: 'application/vnd.oci.image.manifest.v1+json' };
      const got = await fetch(`${go.url}/v2/${name}/manifests/v1`, { headers: accept });
      assert.equal(got.status, 200, go.logs());
      assert.equal(got.headers.get('docker-content-digest'), manifestDigest.value);
      assert.deepEqual(Buffer.from(await got.arrayBuffer()), manifest);
      const blob = await fetch(`${go.url}/v2/${name}/blobs/${layerDigest.value}`);
      assert.equal(blob.status, 200, go.logs());
      assert.deepEqual(Buffer.from(await blob.arrayBuffer()), layer);
      const tags = await fetch(`${go.url}/v2/${name}/tags/list`);
      assert.deepEqual(await tags.json(), { name, tags: ['v1'] });
    } finally {
      await go.stop();
    }
  });
});

function digestOf(bytes: Buffer): Digest {
  return parseDigest(`sha256:${sha256(bytes)}`);
}
