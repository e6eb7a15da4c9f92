/**
 * `GET`/`HEAD`/`PUT`/`DELETE /v2/<name>/manifests/<reference>` (OCI spec end-3, end-7,
 * end-9; "Pushing Manifests", "Pulling manifests"), against both drivers.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  descriptor,
  drivers,
  makeImage,
  ociConfigType,
  ociLayerType,
  ociManifestType,
  pushBlob,
  pushManifest,
  sha256,
  startTestRegistry,
  type DriverName,
  type PushedImage,
  type TestRegistry,
} from '../helpers/server.js';
import { exchange, runRow, send, type Reply, type Row } from './table.js';

const ociIndexType = 'application/vnd.oci.image.index.v1+json';
const dockerManifestType = 'application/vnd.docker.distribution.manifest.v2+json';
const dockerListType = 'application/vnd.docker.distribution.manifest.list.v2+json';
const dockerConfigType = 'application/vnd.docker.container.image.v1+json';
const dockerLayerType = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

const repo = 'man/img';
const config = '{"architecture":"amd64","os":"linux"}';
const layer = 'layer bytes of man/img';
const zstdLayer = 'a zstd layer';
const tarLayer = 'an uncompressed layer';
const artifactConfig = '{"kind":"sbom"}';
const missing = sha256('a blob never pushed');

function sha512(bytes: Buffer): string {
  return `sha512:${createHash('sha512').update(bytes).digest('hex')}`;
}

function ociManifest(layers: object[]): object {
  return {
    schemaVersion: 2,
    mediaType: ociManifestType,
    config: descriptor(ociConfigType, config),
    layers,
  };
}

/** The manifest most rows push: exact bytes, so digests are known in advance. */
const plain = Buffer.from(JSON.stringify(ociManifest([descriptor(ociLayerType, layer)])));
const plainDigest = sha256(plain);

const docker = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: dockerManifestType,
    config: descriptor(dockerConfigType, config),
    layers: [descriptor(dockerLayerType, layer)],
  }),
);

/** Pretty printed, odd spacing, extra fields: stored and served byte for byte. */
const artifact = Buffer.from(
  `${JSON.stringify(
    {
      schemaVersion: 2,
      mediaType: ociManifestType,
      artifactType: 'application/vnd.example.sbom.v1',
      config: descriptor('application/vnd.example.config.v1+json', artifactConfig),
      layers: [descriptor(ociLayerType, layer)],
      subject: { mediaType: ociManifestType, digest: sha256('a subject never pushed'), size: 7 },
      annotations: {
        'org.example.note': 'héllo wörld',
        'org.opencontainers.image.created': '2024-01-01T00:00:00Z',
      },
    },
    null,
    3,
  )}\n`,
);

function index(mediaType: string, children: object[]): Buffer {
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, manifests: children }));
}

interface Fixture {
  reg: TestRegistry;
  noDelete: TestRegistry;
  image: PushedImage;
}

const put = (ref: string, body: string | Buffer, type = ociManifestType, r = repo) => ({
  method: 'PUT',
  path: `/v2/${r}/manifests/${ref}`,
  headers: { 'Content-Type': type },
  body,
});

/** The stored manifest, as GET returns it. */
async function expectManifest(f: Fixture, ref: string, bytes: Buffer, type: string): Promise<void> {
  const reply = await send(f.reg.url, { path: `/v2/${repo}/manifests/${ref}` });
  assert.equal(reply.status, 200, reply.body.toString());
  assert.equal(reply.header('content-type'), type);
  assert.equal(reply.header('docker-content-digest'), sha256(bytes));
  assert.deepEqual(reply.body, bytes, 'the exact bytes pushed');
}

async function tagsOf(f: Fixture, r = repo): Promise<string[]> {
  const reply = await send(f.reg.url, { path: `/v2/${r}/tags/list` });
  assert.equal(reply.status, 200, reply.body.toString());
  return (JSON.parse(reply.body.toString()) as { tags: string[] }).tags;
}

const servedPlain = {
  status: 200,
  headers: {
    'Content-Type': ociManifestType,
    'Docker-Content-Digest': plainDigest,
    'Content-Length': String(plain.byteLength),
  },
  body: plain,
};

const rows: Row<Fixture>[] = [
  {
    name: 'PUT of an OCI manifest by tag answers 201 with Location and Docker-Content-Digest',
    request: put('v1', plain),
    expect: {
      status: 201,
      headers: {
        Location: new RegExp(`/v2/${repo}/manifests/${plainDigest}$`),
        'Docker-Content-Digest': plainDigest,
      },
    },
  },
  {
    name: 'GET by tag answers 200 with the manifest type and exactly the bytes pushed',
    request: { path: `/v2/${repo}/manifests/v1` },
    expect: servedPlain,
  },
  {
    name: 'GET by digest answers 200 with the manifest type and exactly the bytes pushed',
    request: { path: `/v2/${repo}/manifests/${plainDigest}` },
    expect: servedPlain,
  },
  {
    name: 'HEAD by tag answers 200 with type, digest and length and no body',
    request: { method: 'HEAD', path: `/v2/${repo}/manifests/v1` },
    expect: { ...servedPlain, body: '' },
  },
  {
    name: 'HEAD by digest answers 200 with the digest',
    request: { method: 'HEAD', path: `/v2/${repo}/manifests/${plainDigest}` },
    expect: { status: 200, headers: { 'Docker-Content-Digest': plainDigest } },
  },
  {
    name: 'GET with several Accept headers answers the stored manifest',
    request: {
      path: `/v2/${repo}/manifests/v1`,
      raw: true,
      headers: { Accept: [dockerManifestType, ociManifestType, ociIndexType] },
    },
    expect: servedPlain,
  },
  {
    name: 'GET with one comma-separated Accept including */* answers the stored manifest',
    request: {
      path: `/v2/${repo}/manifests/v1`,
      headers: { Accept: `${dockerManifestType}, ${ociManifestType};q=0.9, */*;q=0.1` },
    },
    expect: servedPlain,
  },
  {
    name: 'GET without an Accept header answers the stored manifest',
    request: { path: `/v2/${repo}/manifests/v1`, raw: true },
    expect: servedPlain,
  },
  {
    name: 'If-None-Match with the manifest ETag answers 304',
    request: { path: `/v2/${repo}/manifests/v1`, headers: { 'If-None-Match': `"${plainDigest}"` } },
    expect: { status: 304, body: '' },
  },
  {
    name: 'PUT with parameters on the Content-Type is accepted (they are ignored): 201',
    request: put('with-params', plain, `${ociManifestType}; charset=utf-8`),
    expect: { status: 201, headers: { 'Docker-Content-Digest': plainDigest } },
  },
  {
    name: 'PUT of a Docker image manifest v2 schema 2 answers 201 and is served with its type',
    request: put('docker', docker, dockerManifestType),
    expect: { status: 201, headers: { 'Docker-Content-Digest': sha256(docker) } },
    after: (f) => expectManifest(f, 'docker', docker, dockerManifestType),
  },
  {
    name: 'PUT of an OCI index of a pushed manifest answers 201 and is served with its type',
    request: (f) => put('index', index(ociIndexType, [f.image.descriptor]), ociIndexType),
    expect: { status: 201 },
    after: (f) =>
      expectManifest(f, 'index', index(ociIndexType, [f.image.descriptor]), ociIndexType),
  },
  {
    name: 'PUT of a Docker manifest list of a pushed manifest answers 201',
    request: (f) => {
      const child = { ...f.image.descriptor, platform: { architecture: 'amd64', os: 'linux' } };
      return put('list', index(dockerListType, [child]), dockerListType);
    },
    expect: { status: 201 },
    after: async (f) => {
      const reply = await send(f.reg.url, { path: `/v2/${repo}/manifests/list` });
      assert.equal(reply.header('content-type'), dockerListType);
    },
  },
  {
    name: 'PUT of an OCI manifest with zero layers answers 201',
    request: put('empty', JSON.stringify(ociManifest([]))),
    expect: { status: 201 },
  },
  {
    name: 'PUT of an artifact (artifactType, absent subject, annotations) keeps it byte for byte',
    request: put('artifact', artifact),
    expect: { status: 201, headers: { 'Docker-Content-Digest': sha256(artifact) } },
    after: (f) => expectManifest(f, 'artifact', artifact, ociManifestType),
  },
  {
    name: 'PUT of a manifest with zstd and uncompressed layer types answers 201',
    request: put(
      'layer-types',
      JSON.stringify(
        ociManifest([
          descriptor('application/vnd.oci.image.layer.v1.tar+zstd', zstdLayer),
          descriptor('application/vnd.oci.image.layer.v1.tar', tarLayer),
        ]),
      ),
    ),
    expect: { status: 201 },
  },
  {
    // The reference's default policy: with no `validation.manifests.urls.allow`, no layer
    // may name URLs (test/api/validation.test.ts covers configured policies).
    name: 'PUT of a manifest whose layer names URLs is refused by the default policy',
    request: put(
      'foreign',
      JSON.stringify(
        ociManifest([
          {
            ...descriptor('application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', 'far'),
            urls: ['https://example.com/layer.tar.gz'],
          },
        ]),
      ),
    ),
    expect: { status: 400, code: 'MANIFEST_INVALID', allCodes: ['MANIFEST_BLOB_UNKNOWN'] },
  },
  {
    name: 'PUT by digest with ?tag=a&tag=b answers 201 with OCI-Tag and lists both tags',
    request: { ...put(`${plainDigest}?tag=a&tag=b`, plain) },
    expect: {
      status: 201,
      headers: { 'OCI-Tag': /^a, ?b$/, 'Docker-Content-Digest': plainDigest },
    },
    after: async (f) => {
      const tags = await tagsOf(f);
      assert.ok(tags.includes('a') && tags.includes('b'), `tags: ${tags.join(' ')}`);
    },
  },
  {
    name: 'PUT by a sha512 digest stores the manifest under it, and GET by it answers 200',
    request: put(sha512(plain), plain),
    expect: { status: 201, headers: { 'Docker-Content-Digest': sha512(plain) } },
    after: async (f) => {
      const reply = await send(f.reg.url, { path: `/v2/${repo}/manifests/${sha512(plain)}` });
      assert.equal(reply.status, 200, reply.body.toString());
      assert.deepEqual(reply.body, plain);
    },
  },
  {
    name: 'PUT without a Content-Type, the type given by the mediaType field, answers 201',
    request: { method: 'PUT', path: `/v2/${repo}/manifests/untyped`, body: plain, raw: true },
    expect: { status: 201, headers: { 'Docker-Content-Digest': plainDigest } },
    after: (f) => expectManifest(f, 'untyped', plain, ociManifestType),
  },
  {
    name: 'PUT of a tag of 128 characters answers 201',
    request: put('t'.repeat(128), plain),
    expect: { status: 201 },
  },
  // Refusals.
  {
    name: 'PUT of an index whose child manifest is not in the repository answers 400',
    request: put(
      'bad-index',
      index(ociIndexType, [{ mediaType: ociManifestType, digest: missing, size: 10 }]),
      ociIndexType,
    ),
    // The missing manifest is named first; the OCI spec ("Push") also wants
    // MANIFEST_BLOB_UNKNOWN for any missing reference, so both are reported.
    expect: {
      status: 400,
      code: 'MANIFEST_UNKNOWN',
      allCodes: ['MANIFEST_UNKNOWN', 'MANIFEST_BLOB_UNKNOWN'],
    },
  },
  {
    name: 'PUT of a manifest whose layer is not in the repository: 400 MANIFEST_BLOB_UNKNOWN',
    request: put('bad-layer', JSON.stringify(ociManifest([descriptor(ociLayerType, 'never')]))),
    expect: { status: 400, code: 'MANIFEST_BLOB_UNKNOWN' },
  },
  {
    name: 'PUT of a manifest whose config is not in the repository: 400 MANIFEST_BLOB_UNKNOWN',
    request: put(
      'bad-config',
      JSON.stringify({
        schemaVersion: 2,
        mediaType: ociManifestType,
        config: descriptor(ociConfigType, 'a config never pushed'),
        layers: [],
      }),
    ),
    expect: { status: 400, code: 'MANIFEST_BLOB_UNKNOWN' },
  },
  {
    name: 'PUT of a body that is not JSON answers 400 MANIFEST_INVALID',
    request: put('not-json', '{"schemaVersion": 2, "config": '),
    expect: { status: 400, code: 'MANIFEST_INVALID' },
  },
  {
    name: 'PUT of an empty body answers 400 MANIFEST_INVALID',
    request: put('nothing', ''),
    expect: { status: 400, code: 'MANIFEST_INVALID' },
  },
  {
    name: 'PUT of a schema 1 manifest answers 400 MANIFEST_INVALID',
    request: put(
      'schema1',
      JSON.stringify({ schemaVersion: 1, name: repo, tag: 'schema1', fsLayers: [], history: [] }),
      'application/vnd.docker.distribution.manifest.v1+json',
    ),
    expect: { status: 400, code: 'MANIFEST_INVALID' },
  },
  {
    name: 'PUT of a manifest with an unknown mediaType answers 400 MANIFEST_INVALID',
    request: put(
      'odd-type',
      JSON.stringify({ ...ociManifest([]), mediaType: 'application/vnd.example.unknown+json' }),
      'application/vnd.example.unknown+json',
    ),
    expect: { status: 400, code: 'MANIFEST_INVALID' },
  },
  {
    name: 'PUT of a manifest whose mediaType contradicts the Content-Type answers 400',
    request: put('contradiction', plain, dockerManifestType),
    expect: { status: 400, code: 'MANIFEST_INVALID' },
  },
  {
    name: 'PUT of a manifest with a malformed layer digest answers 400 MANIFEST_INVALID',
    request: put(
      'bad-digest',
      JSON.stringify(ociManifest([{ mediaType: ociLayerType, digest: 'sha256:xyz', size: 3 }])),
    ),
    expect: { status: 400, code: ['MANIFEST_INVALID', 'DIGEST_INVALID'] },
  },
  {
    name: 'PUT by digest where the digest does not match the body answers 400 DIGEST_INVALID',
    request: put(sha256('other bytes'), plain),
    expect: { status: 400, code: 'DIGEST_INVALID' },
  },
  {
    name: 'PUT by a malformed digest answers 400 DIGEST_INVALID',
    request: put('sha256:xyz', plain),
    expect: { status: 400, code: 'DIGEST_INVALID' },
  },
  {
    name: 'PUT with a tag starting with - answers 400 TAG_INVALID',
    request: put('-bad', plain),
    expect: { status: 400, code: 'TAG_INVALID' },
  },
  {
    name: 'PUT with a tag of 129 characters answers 400 TAG_INVALID',
    request: put('t'.repeat(129), plain),
    expect: { status: 400, code: 'TAG_INVALID' },
  },
  {
    name: 'PUT by digest with an invalid ?tag= answers 400 TAG_INVALID',
    request: put(`${plainDigest}?tag=ok&tag=-bad`, plain),
    expect: { status: 400, code: 'TAG_INVALID' },
  },
  {
    name: 'GET of a tag never pushed answers 404 MANIFEST_UNKNOWN',
    request: { path: `/v2/${repo}/manifests/never` },
    expect: { status: 404, code: 'MANIFEST_UNKNOWN' },
  },
  {
    name: 'GET of a digest never pushed answers 404 MANIFEST_UNKNOWN',
    request: { path: `/v2/${repo}/manifests/${missing}` },
    expect: { status: 404, code: 'MANIFEST_UNKNOWN' },
  },
  {
    name: 'GET by the digest of a blob (not a manifest) answers 404 MANIFEST_UNKNOWN',
    request: { path: `/v2/${repo}/manifests/${sha256(layer)}` },
    expect: { status: 404, code: 'MANIFEST_UNKNOWN' },
  },
  {
    name: 'HEAD of a tag never pushed answers 404 without a body',
    request: { method: 'HEAD', path: `/v2/${repo}/manifests/never` },
    expect: { status: 404, body: '' },
  },
  {
    name: 'GET in a repository that does not exist answers 404 NAME_UNKNOWN',
    request: { path: '/v2/man/nowhere/manifests/latest' },
    expect: { status: 404, code: 'NAME_UNKNOWN' },
  },
  {
    name: 'GET by a malformed digest answers 400 DIGEST_INVALID',
    request: { path: `/v2/${repo}/manifests/sha256:xyz` },
    expect: { status: 400, code: 'DIGEST_INVALID' },
  },
  {
    name: 'GET by an invalid tag answers 400 TAG_INVALID',
    request: { path: `/v2/${repo}/manifests/-bad` },
    expect: { status: 400, code: 'TAG_INVALID' },
  },
  // Deletion.
  {
    name: 'DELETE by digest answers 202, and the manifest and every tag on it are gone',
    request: async (f) => {
      const image = await makeImage(f.reg.url, 'man/del', 'one', { layers: 1 });
      await pushManifest(f.reg.url, 'man/del', 'two', image.manifestBytes, ociManifestType);
      await makeImage(f.reg.url, 'man/del', 'keep', { layers: 2 });
      return { method: 'DELETE', path: `/v2/man/del/manifests/${image.manifestDigest}` };
    },
    expect: { status: 202 },
    after: async (f, reply: Reply) => {
      assert.equal(reply.body.byteLength, 0);
      assert.deepEqual(await tagsOf(f, 'man/del'), ['keep']);
      for (const ref of ['one', 'two']) {
        const get = await send(f.reg.url, { path: `/v2/man/del/manifests/${ref}` });
        assert.equal(get.status, 404, `GET ${ref}`);
      }
    },
  },
  {
    name: 'DELETE by digest makes GET by that digest answer 404 MANIFEST_UNKNOWN',
    request: async (f) => {
      const image = await makeImage(f.reg.url, 'man/del2', 'x');
      const del = await send(f.reg.url, {
        method: 'DELETE',
        path: `/v2/man/del2/manifests/${image.manifestDigest}`,
      });
      assert.equal(del.status, 202);
      return { path: `/v2/man/del2/manifests/${image.manifestDigest}` };
    },
    expect: { status: 404, code: 'MANIFEST_UNKNOWN' },
  },
  {
    name: 'DELETE by tag answers 202; the tag is gone, the manifest stays by digest',
    request: async (f) => {
      const image = await makeImage(f.reg.url, 'man/deltag', 'gone');
      await pushManifest(f.reg.url, 'man/deltag', 'stays', image.manifestBytes, ociManifestType);
      return { method: 'DELETE', path: '/v2/man/deltag/manifests/gone' };
    },
    expect: { status: 202 },
    after: async (f) => {
      assert.deepEqual(await tagsOf(f, 'man/deltag'), ['stays']);
      const tag = await send(f.reg.url, { path: '/v2/man/deltag/manifests/gone' });
      assert.equal(tag.status, 404);
      const stays = await send(f.reg.url, { path: '/v2/man/deltag/manifests/stays' });
      const digest = stays.header('docker-content-digest') ?? '';
      const byDigest = await send(f.reg.url, { path: `/v2/man/deltag/manifests/${digest}` });
      assert.equal(byDigest.status, 200);
    },
  },
  {
    name: 'DELETE of a tag never pushed answers 404 MANIFEST_UNKNOWN',
    request: { method: 'DELETE', path: `/v2/${repo}/manifests/never` },
    expect: { status: 404, code: 'MANIFEST_UNKNOWN' },
  },
  {
    name: 'DELETE of a digest never pushed answers 404 MANIFEST_UNKNOWN',
    request: { method: 'DELETE', path: `/v2/${repo}/manifests/${missing}` },
    expect: { status: 404, code: 'MANIFEST_UNKNOWN' },
  },
];

function suite(driver: DriverName): void {
  describe(`manifests (${driver})`, () => {
    const f = {} as Fixture;
    before(async () => {
      [f.reg, f.noDelete] = await Promise.all([
        startTestRegistry({ driver, deleteEnabled: true }),
        startTestRegistry({ driver }),
      ]);
      for (const bytes of [config, layer, zstdLayer, tarLayer, artifactConfig]) {
        await pushBlob(f.reg.url, repo, bytes);
      }
      f.image = await makeImage(f.reg.url, repo, 'base', { layers: 2 });
    });
    after(() => Promise.all([f.reg?.stop(), f.noDelete?.stop()]));

    for (const row of rows) {
      test(row.name, async () => {
        await runRow(f.reg.url, f, row);
      });
    }

    test('DELETE by digest and by tag answer 405 UNSUPPORTED when deletion is off', async () => {
      const image = await makeImage(f.noDelete.url, 'man/keep', 'kept');
      for (const ref of [image.manifestDigest, 'kept']) {
        const reply = await send(f.noDelete.url, {
          method: 'DELETE',
          path: `/v2/man/keep/manifests/${ref}`,
        });
        assert.equal(reply.status, 405, `DELETE ${ref}`);
        assert.match(reply.body.toString(), /"UNSUPPORTED"/);
      }
      const get = await send(f.noDelete.url, { path: '/v2/man/keep/manifests/kept' });
      assert.equal(get.status, 200);
    });

    test('PUT of a 5 MiB manifest answers 413, a reply the client sees (no reset)', async () => {
      // A raw connection: fetch may report its own write error instead of an early reply.
      const pad = 'x'.repeat(5 << 20);
      const huge = JSON.stringify({ ...ociManifest([]), annotations: { pad } });
      const head =
        `PUT /v2/${repo}/manifests/huge HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
        `Content-Type: ${ociManifestType}\r\nContent-Length: ${Buffer.byteLength(huge)}\r\n\r\n`;
      const got = await exchange(f.reg.port, [head, huge], 5000, true);
      assert.match(got.text, /^HTTP\/1\.1 413 /, `got ${got.end}: ${got.text.slice(0, 200)}`);
      const missing = await send(f.reg.url, { path: `/v2/${repo}/manifests/huge` });
      assert.equal(missing.status, 404);
    });

    test('a tag pushed again with another manifest points to the new one', async () => {
      const first = await makeImage(f.reg.url, 'man/retag', 'moving', { layers: 1 });
      const second = await makeImage(f.reg.url, 'man/retag', 'moving', { layers: 3 });
      assert.notEqual(first.manifestDigest, second.manifestDigest);
      const reply = await send(f.reg.url, { path: '/v2/man/retag/manifests/moving' });
      assert.equal(reply.header('docker-content-digest'), second.manifestDigest);
      const path = `/v2/man/retag/manifests/${first.manifestDigest}`;
      const old = await send(f.reg.url, { path });
      assert.equal(old.status, 200, 'the old manifest stays by digest');
    });
  });
}

for (const driver of drivers) suite(driver);
