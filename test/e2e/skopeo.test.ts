/**
 * End-to-end: skopeo pushes to and pulls from the registry under test (Berth by default,
 * the Go reference registry with BERTH_E2E_TARGET=go), with images built offline.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  buildImagesSharingLayers,
  buildMultiLayerImage,
  buildTwoPlatformIndex,
  buildV2s2Image,
  buildZeroLayerImage,
  buildZstdImage,
  describeImage,
  DOCKER_MANIFEST,
  OCI_INDEX,
  OCI_LAYER_ZSTD,
  OCI_MANIFEST,
  type LayoutImage,
} from '../helpers/images.js';
import type { RunningServer } from '../helpers/registry.js';
import { REGISTRY_FLAGS, skopeo, skopeoCopy } from '../helpers/skopeo.js';
import { describeExchange, httpGet, startTarget, targetLabel } from '../helpers/target.js';

const TIMEOUT = 300_000;

interface InspectOutput {
  Digest: string;
  Architecture: string;
  Os: string;
  Layers: string[];
  RepoTags?: string[];
}

interface ListTagsOutput {
  Repository: string;
  Tags: string[];
}

describe(`skopeo against ${targetLabel}`, () => {
  let server: RunningServer | undefined;
  let work = '';

  const registry = (): RunningServer => {
    if (server === undefined) throw new Error('registry did not start');
    return server;
  };
  const remote = (repoAndTag: string): string => `docker://${registry().hostPort}/${repoAndTag}`;
  const layout = (name: string): string => join(work, name);

  let pulls = 0;
  /**
   * Pulls `repoAndTag` into a fresh OCI layout (or skopeo `dir:` directory) and returns
   * what it holds. `global` are skopeo flags before `copy` (e.g. `--override-arch`).
   */
  const pullBack = async (
    repoAndTag: string,
    opts: { extra?: string[]; global?: string[]; transport?: 'oci' | 'dir' } = {},
  ): Promise<LayoutImage> => {
    const dir = layout(`pulled-${++pulls}`);
    const ref = opts.transport === 'dir' ? `dir:${dir}` : `oci:${dir}:pulled`;
    await skopeoCopy(remote(repoAndTag), ref, opts.extra ?? [], opts.global ?? []);
    return describeImage(ref);
  };

  /** Asserts that the image pulled from the registry equals the source layout image. */
  const assertSameImage = (pulled: LayoutImage, source: LayoutImage): void => {
    assert.equal(pulled.digest, source.digest, 'digest of the pulled manifest');
    assert.equal(pulled.mediaType, source.mediaType, 'media type of the pulled manifest');
    assert.deepEqual(pulled.blobs, source.blobs, 'digests of all blobs');
    assert.deepEqual(pulled.manifests, source.manifests, 'manifests, configs and layers');
  };

  const withLogs = (message: string): string =>
    `${message}\n--- ${targetLabel} output ---\n${server?.logs() ?? ''}`;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-e2e-skopeo-'));
    server = await startTarget({ deleteEnabled: true });
  });

  after(async () => {
    await server?.stop();
    if (work !== '') await rm(work, { recursive: true, force: true });
  });

  test(
    'a multi-layer image with a layer over 50 MiB is pushed and pulled back byte-identical',
    { timeout: TIMEOUT },
    async () => {
      const ref = await buildMultiLayerImage(layout('multi'), { layers: 4, bigLayerMiB: 60 });
      const source = await describeImage(ref);
      const layers = source.manifests[0]?.layers ?? [];
      assert.equal(layers.length, 4);
      assert.ok(
        layers.some((l) => l.size > 50 * 1024 * 1024),
        'one layer is over 50 MiB',
      );

      await skopeoCopy(ref, remote('e2e/multi:v1'));
      const head = await httpGet(
        registry(),
        '/v2/e2e/multi/manifests/v1',
        {
          Accept: OCI_MANIFEST,
        },
        'HEAD',
      );
      assert.equal(head.status, 200, withLogs(describeExchange('HEAD', 'manifests/v1', head)));
      assert.equal(head.headers.get('docker-content-digest'), source.digest);

      assertSameImage(await pullBack('e2e/multi:v1'), source);
    },
  );

  test(
    'skopeo inspect shows the digest and every layer of a pushed image',
    { timeout: TIMEOUT },
    async () => {
      const ref = await buildMultiLayerImage(layout('inspect'), { layers: 3 });
      const source = await describeImage(ref);
      await skopeoCopy(ref, remote('e2e/inspect:v1'));

      const { stdout } = await skopeo(['inspect', ...REGISTRY_FLAGS, remote('e2e/inspect:v1')]);
      const info = JSON.parse(stdout) as InspectOutput;
      assert.equal(info.Digest, source.digest);
      assert.deepEqual(
        info.Layers,
        source.manifests[0]?.layers.map((l) => l.digest),
      );
      assert.equal(info.Architecture, 'amd64');
      assert.equal(info.Os, 'linux');
      assert.deepEqual(info.RepoTags, ['v1']);

      const raw = await skopeo(['inspect', '--raw', ...REGISTRY_FLAGS, remote('e2e/inspect:v1')]);
      const rawDigest = `sha256:${createHash('sha256').update(raw.stdout).digest('hex')}`;
      assert.equal(rawDigest, source.digest, 'raw manifest bytes hash to the pushed digest');
    },
  );

  test(
    'skopeo list-tags lists every tag pushed to a repository',
    { timeout: TIMEOUT },
    async () => {
      const ref = await buildMultiLayerImage(layout('tags'), { layers: 1 });
      for (const tag of ['v1', 'v2', 'latest']) await skopeoCopy(ref, remote(`e2e/tags:${tag}`));

      const { stdout } = await skopeo(['list-tags', ...REGISTRY_FLAGS, remote('e2e/tags')]);
      const listed = JSON.parse(stdout) as ListTagsOutput;
      assert.equal(listed.Repository, `${registry().hostPort}/e2e/tags`);
      assert.deepEqual([...listed.Tags].sort(), ['latest', 'v1', 'v2']);
    },
  );

  test(
    'skopeo delete removes the tag and its manifest but not other tags',
    { timeout: TIMEOUT },
    async () => {
      const gone = await buildMultiLayerImage(layout('del-gone'), { layers: 1 });
      const keep = await buildMultiLayerImage(layout('del-keep'), { layers: 1 });
      const goneDigest = (await describeImage(gone)).digest;
      await skopeoCopy(gone, remote('e2e/del:gone'));
      await skopeoCopy(keep, remote('e2e/del:keep'));

      await skopeo(['delete', ...REGISTRY_FLAGS, remote('e2e/del:gone')]);

      const byTag = await httpGet(registry(), '/v2/e2e/del/manifests/gone', {
        Accept: OCI_MANIFEST,
      });
      assert.equal(byTag.status, 404, withLogs(describeExchange('GET', 'manifests/gone', byTag)));
      const byDigest = await httpGet(registry(), `/v2/e2e/del/manifests/${goneDigest}`, {
        Accept: OCI_MANIFEST,
      });
      assert.equal(byDigest.status, 404, withLogs(describeExchange('GET', goneDigest, byDigest)));
      const { stdout } = await skopeo(['list-tags', ...REGISTRY_FLAGS, remote('e2e/del')]);
      assert.deepEqual((JSON.parse(stdout) as ListTagsOutput).Tags, ['keep']);
      assert.ok((await pullBack('e2e/del:keep')).digest !== goneDigest);
    },
  );

  test(
    'a two-platform index pushed with --all is pulled back with the same index and both platforms',
    { timeout: TIMEOUT },
    async () => {
      const ref = await buildTwoPlatformIndex(layout('index'));
      const source = await describeImage(ref);
      assert.equal(source.mediaType, OCI_INDEX);
      assert.equal(source.manifests.length, 2);

      await skopeoCopy(ref, remote('e2e/multiarch:v1'), ['--all']);
      const got = await httpGet(registry(), '/v2/e2e/multiarch/manifests/v1', {
        Accept: OCI_INDEX,
      });
      assert.equal(got.status, 200, withLogs(describeExchange('GET', 'manifests/v1', got)));
      assert.equal(got.headers.get('content-type'), OCI_INDEX);
      assert.equal(got.headers.get('docker-content-digest'), source.digest);

      assertSameImage(await pullBack('e2e/multiarch:v1', { extra: ['--all'] }), source);

      for (const image of source.manifests) {
        const arch = image.platform?.architecture ?? '';
        const global = ['--override-arch', arch, '--override-os', 'linux'];
        const single = await pullBack('e2e/multiarch:v1', { global });
        assert.equal(single.digest, image.digest, `manifest chosen for ${arch}`);
        const withoutPlatform: Partial<typeof image> = { ...image };
        delete withoutPlatform.platform;
        assert.deepEqual(single.manifests, [withoutPlatform]);
      }
    },
  );

  test(
    'a Docker v2s2 image pushed with --format v2s2 is served with the Docker schema 2 media type',
    { timeout: TIMEOUT },
    async () => {
      const ref = await buildV2s2Image(layout('v2s2'));
      const source = await describeImage(ref);
      assert.equal(source.mediaType, DOCKER_MANIFEST);

      await skopeoCopy(ref, remote('e2e/v2s2:v1'), ['--format', 'v2s2']);
      const got = await httpGet(registry(), '/v2/e2e/v2s2/manifests/v1', {
        Accept: `${DOCKER_MANIFEST}, ${OCI_MANIFEST}`,
      });
      assert.equal(got.status, 200, withLogs(describeExchange('GET', 'manifests/v1', got)));
      assert.equal(got.headers.get('content-type'), DOCKER_MANIFEST);
      assert.equal(got.headers.get('docker-content-digest'), source.digest);
      const bodyDigest = `sha256:${createHash('sha256').update(got.body).digest('hex')}`;
      assert.equal(bodyDigest, source.digest, 'served bytes are the pushed bytes');
      assert.equal((JSON.parse(got.body) as { mediaType: string }).mediaType, DOCKER_MANIFEST);

      assertSameImage(await pullBack('e2e/v2s2:v1', { transport: 'dir' }), source);
    },
  );

  test('an image without layers round-trips unchanged', { timeout: TIMEOUT }, async () => {
    const ref = await buildZeroLayerImage(layout('empty'));
    const source = await describeImage(ref);
    assert.deepEqual(source.manifests[0]?.layers, []);
    await skopeoCopy(ref, remote('e2e/empty:v1'));
    assertSameImage(await pullBack('e2e/empty:v1'), source);
  });

  test(
    'an image with zstd-compressed layers round-trips unchanged',
    { timeout: TIMEOUT },
    async () => {
      const ref = await buildZstdImage(layout('zstd'));
      const source = await describeImage(ref);
      assert.ok(source.manifests[0]?.layers.every((l) => l.mediaType === OCI_LAYER_ZSTD));
      await skopeoCopy(ref, remote('e2e/zstd:v1'));
      assertSameImage(await pullBack('e2e/zstd:v1'), source);
    },
  );

  test(
    'ten concurrent skopeo copies of images that share layers all succeed and pull back identical',
    { timeout: TIMEOUT },
    async () => {
      const refs = await buildImagesSharingLayers(layout('shared'), 3, 2);
      const sources = await Promise.all(refs.map((r) => describeImage(r)));
      const jobs = Array.from({ length: 10 }, (_, i) => ({
        ref: refs[i % refs.length] ?? '',
        source: sources[i % sources.length],
        target: `e2e/concurrent-${i % 4}:tag-${i}`,
      }));

      await Promise.all(jobs.map((j) => skopeoCopy(j.ref, remote(j.target))));
      const pulled = await Promise.all(jobs.map((j) => pullBack(j.target)));
      pulled.forEach((image, i) => {
        const source = jobs[i]?.source;
        assert.ok(source !== undefined);
        assertSameImage(image, source);
      });
    },
  );
});
