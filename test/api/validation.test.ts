/**
 * The manifest policy end to end: `validation` (layer URLs, index completeness) and
 * `compatibility.schema1`, each configured through REGISTRY_* variables.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { prettyPayload, signSchema1 } from '../../src/oci/schema1.js';
import {
  descriptor,
  makeImage,
  ociManifestType,
  pushBlob,
  startTestRegistry,
  type TestRegistry,
} from '../helpers/server.js';

const nondistributable = 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip';
const indexType = 'application/vnd.oci.image.index.v1+json';
const signedType = 'application/vnd.docker.distribution.manifest.v1+prettyjws';

async function put(
  reg: TestRegistry,
  repo: string,
  ref: string,
  body: Buffer | object,
  type: string,
) {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${ref}`, {
    method: 'PUT',
    headers: { 'Content-Type': type },
    body: bytes,
  });
  const text = await res.text();
  const codes =
    res.status >= 400
      ? (JSON.parse(text) as { errors: { code: string }[] }).errors.map((e) => e.code)
      : [];
  return { status: res.status, codes, digest: res.headers.get('docker-content-digest') };
}

async function withUrls(reg: TestRegistry, repo: string, urls: string[]) {
  const config = await pushBlob(reg.url, repo, '{}');
  return {
    schemaVersion: 2,
    mediaType: ociManifestType,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: 2 },
    layers: [{ ...descriptor(nondistributable, `far away ${urls.join()}`), urls }],
  };
}

describe('layer URLs with an allow and a deny list', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startTestRegistry({
      env: {
        REGISTRY_VALIDATION_MANIFESTS_URLS_ALLOW: '["^https?://([^/]+\\\\.)*example\\\\.com/"]',
        REGISTRY_VALIDATION_MANIFESTS_URLS_DENY: '["^https?://www\\\\.example\\\\.com/"]',
      },
    });
  });
  after(() => reg?.stop());

  const rows: [string, string, number][] = [
    ['an allowed URL is accepted without the blob', 'https://cdn.example.com/l.tgz', 201],
    ['a denied URL is refused', 'https://www.example.com/l.tgz', 400],
    ['a URL outside the allow list is refused', 'https://elsewhere.test/l.tgz', 400],
    ['a URL that is not http or https is refused', 'ftp://cdn.example.com/l.tgz', 400],
    ['a URL with a fragment is refused', 'https://cdn.example.com/l.tgz#x', 400],
  ];
  for (const [name, url, status] of rows) {
    test(name, async () => {
      const res = await put(
        reg,
        'val/urls',
        'v1',
        await withUrls(reg, 'val/urls', [url]),
        ociManifestType,
      );
      assert.equal(res.status, status);
      if (status === 400)
        assert.deepEqual(res.codes, ['MANIFEST_INVALID', 'MANIFEST_BLOB_UNKNOWN']);
    });
  }
});

describe('validation disabled', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startTestRegistry({ env: { REGISTRY_VALIDATION_DISABLED: 'true' } });
  });
  after(() => reg?.stop());

  test('any layer URL is accepted', async () => {
    const body = await withUrls(reg, 'val/off', ['https://anywhere.test/x']);
    assert.equal((await put(reg, 'val/off', 'v1', body, ociManifestType)).status, 201);
  });

  test('an index whose children are missing is accepted', async () => {
    const missing = { mediaType: ociManifestType, digest: `sha256:${'1'.repeat(64)}`, size: 9 };
    const index = { schemaVersion: 2, mediaType: indexType, manifests: [missing] };
    assert.equal((await put(reg, 'val/off', 'idx', index, indexType)).status, 201);
  });
});

describe('index validation limited to a platform list', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startTestRegistry({
      env: {
        REGISTRY_VALIDATION_MANIFESTS_INDEXES_PLATFORMS: 'list',
        REGISTRY_VALIDATION_MANIFESTS_INDEXES_PLATFORMLIST: '[{os: linux, architecture: amd64}]',
      },
    });
  });
  after(() => reg?.stop());

  const child = (architecture: string, digest: string) => ({
    mediaType: ociManifestType,
    digest,
    size: 9,
    platform: { os: 'linux', architecture },
  });

  test('a missing child of a listed platform is refused', async () => {
    const index = {
      schemaVersion: 2,
      mediaType: indexType,
      manifests: [child('amd64', `sha256:${'2'.repeat(64)}`)],
    };
    const res = await put(reg, 'val/list', 'a', index, indexType);
    assert.equal(res.status, 400);
    assert.equal(res.codes[0], 'MANIFEST_UNKNOWN');
  });

  test('a missing child of another platform is accepted', async () => {
    const present = await makeImage(reg.url, 'val/list', 'amd', { layers: 1 });
    const index = {
      schemaVersion: 2,
      mediaType: indexType,
      manifests: [
        child('amd64', present.manifestDigest),
        child('arm64', `sha256:${'3'.repeat(64)}`),
      ],
    };
    assert.equal((await put(reg, 'val/list', 'b', index, indexType)).status, 201);
  });
});

describe('Docker schema 1', () => {
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const layer = 'a schema 1 layer';
  const manifest = (name: string, tag: string, blobSum: string) => ({
    schemaVersion: 1,
    name,
    tag,
    architecture: 'amd64',
    fsLayers: [{ blobSum }],
    history: [{ v1Compatibility: '{"id":"x"}' }],
  });

  describe('when enabled', () => {
    let reg: TestRegistry;
    let blobSum: string;
    before(async () => {
      reg = await startTestRegistry({ env: { REGISTRY_COMPATIBILITY_SCHEMA1_ENABLED: 'true' } });
      blobSum = await pushBlob(reg.url, 'old/app', layer);
    });
    after(() => reg?.stop());

    test('a signed manifest is stored, its digest covering the payload without signatures', async () => {
      const body = manifest('old/app', 'v1', blobSum);
      const signed = signSchema1(body, key);
      const payloadDigest = `sha256:${createHash('sha256').update(prettyPayload(body)).digest('hex')}`;
      const res = await put(reg, 'old/app', 'v1', signed, signedType);
      assert.equal(res.status, 201);
      assert.equal(res.digest, payloadDigest);
      const got = await fetch(`${reg.url}/v2/old/app/manifests/v1`, {
        headers: { Accept: signedType },
      });
      assert.equal(got.headers.get('content-type'), signedType);
      assert.equal(got.headers.get('docker-content-digest'), payloadDigest);
      assert.deepEqual(Buffer.from(await got.arrayBuffer()), signed);
      const byDigest = await fetch(`${reg.url}/v2/old/app/manifests/${payloadDigest}`);
      assert.equal(byDigest.status, 200);
    });

    const refusals: [string, () => Buffer, string][] = [
      [
        'a tag that differs from the URL gets TAG_INVALID',
        () => signSchema1(manifest('old/app', 'other', blobSum), key),
        'TAG_INVALID',
      ],
      [
        'a name that differs from the repository gets NAME_INVALID',
        () => signSchema1(manifest('old/else', 'v1', blobSum), key),
        'NAME_INVALID',
      ],
      [
        'an unsigned prettyjws manifest gets MANIFEST_UNVERIFIED',
        () => Buffer.from(JSON.stringify(manifest('old/app', 'v1', blobSum))),
        'MANIFEST_UNVERIFIED',
      ],
      [
        'a tampered payload gets MANIFEST_UNVERIFIED',
        () =>
          Buffer.from(
            signSchema1(manifest('old/app', 'v1', blobSum), key)
              .toString()
              .replace('amd64', 'arm64'),
          ),
        'MANIFEST_UNVERIFIED',
      ],
      [
        'a missing layer gets MANIFEST_BLOB_UNKNOWN',
        () => signSchema1(manifest('old/app', 'v1', `sha256:${'4'.repeat(64)}`), key),
        'MANIFEST_BLOB_UNKNOWN',
      ],
    ];
    for (const [name, body, code] of refusals) {
      test(name, async () => {
        const res = await put(reg, 'old/app', 'v1', body(), signedType);
        assert.equal(res.status, 400);
        assert.equal(res.codes[0], code);
      });
    }
  });

  test('when disabled a schema 1 manifest gets MANIFEST_INVALID, as the reference 3.x', async () => {
    const reg = await startTestRegistry();
    try {
      const blobSum = await pushBlob(reg.url, 'old/app', layer);
      const res = await put(
        reg,
        'old/app',
        'v1',
        signSchema1(manifest('old/app', 'v1', blobSum), key),
        signedType,
      );
      assert.equal(res.status, 400);
      assert.equal(res.codes[0], 'MANIFEST_INVALID');
    } finally {
      await reg.stop();
    }
  });
});
