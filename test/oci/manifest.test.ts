import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RegistryError } from '../../src/errors/registry-error.js';
import { inspectManifest } from '../../src/oci/manifest.js';
import { mediaTypes } from '../../src/oci/media-types.js';

const d = (c: string): string => `sha256:${c.repeat(64)}`;
const desc = (mediaType: string, c: string, extra = {}) => ({
  mediaType,
  digest: d(c),
  size: 1,
  ...extra,
});
const bytes = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

function refuses(value: unknown, contentType?: string): void {
  assert.throws(
    () =>
      inspectManifest(typeof value === 'string' ? Buffer.from(value) : bytes(value), contentType),
    (err) => err instanceof RegistryError && err.code === 'MANIFEST_INVALID',
  );
}

describe('inspectManifest', () => {
  test('lists the config and layers of an OCI image manifest', () => {
    const info = inspectManifest(
      bytes({
        schemaVersion: 2,
        mediaType: mediaTypes.ociManifest,
        config: desc('application/vnd.oci.image.config.v1+json', 'a'),
        layers: [desc('application/vnd.oci.image.layer.v1.tar+zstd', 'b')],
      }),
      undefined,
    );
    assert.equal(info.mediaType, mediaTypes.ociManifest);
    assert.deepEqual(info.blobs, [d('a'), d('b')]);
  });

  test('lists the children of an index and its subject', () => {
    const info = inspectManifest(
      bytes({
        schemaVersion: 2,
        mediaType: mediaTypes.ociIndex,
        manifests: [desc(mediaTypes.ociManifest, 'c')],
        subject: desc(mediaTypes.ociManifest, 'e'),
      }),
      undefined,
    );
    assert.deepEqual(info.manifests, [{ digest: d('c') }]);
    assert.equal(info.subject, d('e'));
  });

  test('takes the type from an OCI Content-Type when the body has no mediaType', () => {
    const info = inspectManifest(
      bytes({ schemaVersion: 2, config: desc('x/y', 'a'), layers: [] }),
      mediaTypes.ociManifest,
    );
    assert.equal(info.mediaType, mediaTypes.ociManifest);
  });

  test('refuses a Docker schema 2 Content-Type when the body has no mediaType', () => {
    for (const type of [mediaTypes.dockerManifest, mediaTypes.dockerManifestList]) {
      assert.throws(
        () =>
          inspectManifest(bytes({ schemaVersion: 2, config: desc('x/y', 'a'), layers: [] }), type),
        (err: unknown) => err instanceof RegistryError && err.code === 'MANIFEST_INVALID',
      );
    }
  });

  test('skips non-distributable layers, whose bytes may live elsewhere', () => {
    const info = inspectManifest(
      bytes({
        schemaVersion: 2,
        mediaType: mediaTypes.dockerManifest,
        config: desc('x/y', 'a'),
        layers: [
          desc('application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', 'f', { urls: ['x'] }),
        ],
      }),
      undefined,
    );
    assert.deepEqual(info.blobs, [d('a')]);
  });

  test('refuses invalid JSON', () => refuses('{"schemaVersion":'));
  test('refuses a JSON array', () => refuses([]));
  test('refuses an unknown media type', () =>
    refuses({ schemaVersion: 2, mediaType: 'text/plain' }));
  test('refuses schemaVersion 1 under a schema 2 type', () =>
    refuses({
      schemaVersion: 1,
      mediaType: mediaTypes.ociManifest,
      config: desc('x/y', 'a'),
      layers: [],
    }));
  test('refuses a mediaType that contradicts Content-Type', () =>
    refuses(
      { schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: desc('x/y', 'a'), layers: [] },
      mediaTypes.dockerManifest,
    ));
  test('refuses a layer with a malformed digest', () =>
    refuses({
      schemaVersion: 2,
      mediaType: mediaTypes.ociManifest,
      config: desc('x/y', 'a'),
      layers: [{ mediaType: 'x/y', digest: 'sha256:zz', size: 1 }],
    }));
  test('refuses a negative size', () =>
    refuses({
      schemaVersion: 2,
      mediaType: mediaTypes.ociManifest,
      config: { mediaType: 'x/y', digest: d('a'), size: -1 },
      layers: [],
    }));
  test('refuses an index without manifests', () =>
    refuses({ schemaVersion: 2, mediaType: mediaTypes.ociIndex }));
});
