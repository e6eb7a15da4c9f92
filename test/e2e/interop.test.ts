/**
 * End-to-end: the storage folder is interchangeable with the Go reference registry. What
 * Berth writes is served by the Go registry from the same root, and the other way round.
 * With BERTH_E2E_TARGET=go both sides are the Go registry.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startGoRegistry } from '../helpers/go-registry.js';
import {
  buildMultiLayerImage,
  buildTwoPlatformIndex,
  describeImage,
  type LayoutImage,
} from '../helpers/images.js';
import type { RunningServer } from '../helpers/registry.js';
import { skopeoCopy } from '../helpers/skopeo.js';
import { describeExchange, httpGet, startTarget, targetLabel } from '../helpers/target.js';

const TIMEOUT = 300_000;

/** Catalog and tag lists of a registry, as served over HTTP. */
interface Listing {
  catalog: string[];
  tags: Record<string, string[]>;
}

/** Reads `/v2/_catalog` and `/v2/<repo>/tags/list` of every repository in the catalog. */
async function listing(registry: RunningServer): Promise<Listing> {
  const answer = await httpGet(registry, '/v2/_catalog');
  assert.equal(answer.status, 200, describeExchange('GET', '/v2/_catalog', answer));
  const catalog = (JSON.parse(answer.body) as { repositories: string[] }).repositories;
  const tags: Record<string, string[]> = {};
  for (const repo of catalog) {
    const path = `/v2/${repo}/tags/list`;
    const got = await httpGet(registry, path);
    assert.equal(got.status, 200, describeExchange('GET', path, got));
    tags[repo] = [...((JSON.parse(got.body) as { tags: string[] | null }).tags ?? [])].sort();
  }
  return { catalog, tags };
}

describe(`storage written by ${targetLabel} and by the Go registry is interchangeable`, () => {
  let work = '';
  const running = new Set<RunningServer>();

  /** Starts a server, remembering it so that `after` stops it even when a test fails. */
  const start = async (which: 'target' | 'go', root: string): Promise<RunningServer> => {
    const server = which === 'go' ? await startGoRegistry({ root }) : await startTarget({ root });
    running.add(server);
    return server;
  };
  const stop = async (server: RunningServer): Promise<void> => {
    await server.stop();
    running.delete(server);
  };

  /** Pulls `repoAndTag` from `server` into a fresh layout and describes it. */
  let pulls = 0;
  const pull = async (
    server: RunningServer,
    repoAndTag: string,
    extra: string[] = [],
  ): Promise<LayoutImage> => {
    const ref = `oci:${join(work, `pulled-${++pulls}`)}:pulled`;
    await skopeoCopy(`docker://${server.hostPort}/${repoAndTag}`, ref, extra);
    return describeImage(ref);
  };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-e2e-interop-'));
  });

  after(async () => {
    await Promise.all([...running].map((s) => s.stop()));
    if (work !== '') await rm(work, { recursive: true, force: true });
  });

  test(
    `images pushed to ${targetLabel} are served by the Go registry from the same root`,
    { timeout: TIMEOUT },
    async () => {
      const root = join(work, 'root-written-by-target');
      const image = await describeImage(
        await buildMultiLayerImage(join(work, 'layout-a'), { layers: 3, bigLayerMiB: 8 }),
      );
      const index = await describeImage(await buildTwoPlatformIndex(join(work, 'layout-a-idx')));

      const writer = await start('target', root);
      await skopeoCopy(
        `oci:${join(work, 'layout-a')}:latest`,
        `docker://${writer.hostPort}/a/img:v1`,
      );
      await skopeoCopy(
        `oci:${join(work, 'layout-a')}:latest`,
        `docker://${writer.hostPort}/a/img:v2`,
      );
      await skopeoCopy(
        `oci:${join(work, 'layout-a-idx')}:multiarch`,
        `docker://${writer.hostPort}/a/multiarch:v1`,
        ['--all'],
      );
      const written = await listing(writer);
      await stop(writer);

      const reader = await start('go', root);
      assert.deepEqual(await pull(reader, 'a/img:v1'), image);
      assert.deepEqual(await pull(reader, 'a/multiarch:v1', ['--all']), index);
      const served = await listing(reader);
      assert.deepEqual(served, written, 'catalog and tags agree');
      assert.deepEqual(served.tags['a/img'], ['v1', 'v2']);
      await stop(reader);
    },
  );

  test(
    `images pushed to the Go registry are served by ${targetLabel} from the same root`,
    { timeout: TIMEOUT },
    async () => {
      const root = join(work, 'root-written-by-go');
      const image = await describeImage(
        await buildMultiLayerImage(join(work, 'layout-b'), { layers: 2, bigLayerMiB: 8 }),
      );
      const index = await describeImage(await buildTwoPlatformIndex(join(work, 'layout-b-idx')));

      const writer = await start('go', root);
      await skopeoCopy(
        `oci:${join(work, 'layout-b')}:latest`,
        `docker://${writer.hostPort}/b/img:v1`,
      );
      await skopeoCopy(
        `oci:${join(work, 'layout-b-idx')}:multiarch`,
        `docker://${writer.hostPort}/b/nested/multiarch:v1`,
        ['--all'],
      );
      const written = await listing(writer);
      await stop(writer);

      const reader = await start('target', root);
      assert.deepEqual(await pull(reader, 'b/img:v1'), image);
      assert.deepEqual(await pull(reader, 'b/nested/multiarch:v1', ['--all']), index);
      const served = await listing(reader);
      assert.deepEqual(served, written, 'catalog and tags agree');
      assert.deepEqual(served.catalog, ['b/img', 'b/nested/multiarch']);
      await stop(reader);
    },
  );
});
