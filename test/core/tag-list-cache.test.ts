/**
 * The tag list cache (src/core/tag-list-cache.ts): kept lists are served only while the
 * tags folder's time is unchanged, never when read under a folder time still settling, and
 * two replicas on one storage root see each other's tag changes at once.
 */
import assert from 'node:assert/strict';
import { stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SETTLED_MS, TagListCache } from '../../src/core/tag-list-cache.js';
import {
  makeImage,
  ociManifestType,
  pushManifest,
  startTestRegistry,
  type PushedImage,
  type TestRegistry,
} from '../helpers/server.js';

describe('TagListCache', () => {
  const old = 1_000_000;
  const now = old + SETTLED_MS;

  test('a list read under a settled folder time is served while the time is unchanged', () => {
    const cache = new TagListCache();
    cache.set('r', old, now, ['a', 'b']);
    assert.deepEqual(cache.get('r', old), ['a', 'b']);
    assert.equal(cache.get('r', old + 1), undefined);
    // A changed time drops the list for good, even if the old time came back.
    assert.equal(cache.get('r', old), undefined);
  });

  test('a list read while the folder time is younger than the settling time is not kept', () => {
    const cache = new TagListCache();
    cache.set('r', old, now - 1, ['a']);
    assert.equal(cache.get('r', old), undefined);
  });

  test('forget drops a list', () => {
    const cache = new TagListCache();
    cache.set('r', old, now, ['a']);
    cache.forget('r');
    assert.equal(cache.get('r', old), undefined);
  });

  test('the least recently used lists go first when the tag limit is reached', () => {
    const cache = new TagListCache(5);
    cache.set('one', old, now, ['a', 'b']);
    cache.set('two', old, now, ['a', 'b']);
    assert.ok(cache.get('one', old)); // now the most recently used
    cache.set('three', old, now, ['a', 'b']);
    assert.equal(cache.get('two', old), undefined);
    assert.deepEqual(cache.get('one', old), ['a', 'b']);
    assert.deepEqual(cache.get('three', old), ['a', 'b']);
    cache.set('huge', old, now, ['a', 'b', 'c', 'd', 'e', 'f']);
    assert.equal(cache.get('huge', old), undefined);
  });
});

describe('tag lists of two replicas on one filesystem root', () => {
  const repo = 'cache/tags';
  let a: TestRegistry;
  let b: TestRegistry;
  let image: PushedImage;
  let tagsFolder = '';

  before(async () => {
    a = await startTestRegistry({ deleteEnabled: true });
    b = await startTestRegistry({ root: a.root, deleteEnabled: true });
    image = await makeImage(a.url, repo, 't1');
    await pushManifest(a.url, repo, 't2', image.manifestBytes, ociManifestType);
    tagsFolder = join(a.root, 'docker/registry/v2/repositories', repo, '_manifests/tags');
  });
  after(async () => {
    await b.stop();
    await a.stop();
  });

  const list = async (registry: TestRegistry): Promise<unknown> => {
    const res = await fetch(`${registry.url}/v2/${repo}/tags/list`);
    assert.equal(res.status, 200);
    return ((await res.json()) as { tags: unknown }).tags;
  };
  /** Makes the folder look untouched for an hour, so that a list read now is kept. */
  const settle = (): Promise<void> => {
    const hourAgo = new Date(Date.now() - 3_600_000);
    return utimes(tagsFolder, hourAgo, hourAgo);
  };

  test('a tag pushed through the other replica is listed at once', async () => {
    await settle();
    assert.deepEqual(await list(a), ['t1', 't2']);
    await pushManifest(b.url, repo, 't3', image.manifestBytes, ociManifestType);
    assert.deepEqual(await list(a), ['t1', 't2', 't3']);
  });

  test('a tag deleted through the other replica is gone at once', async () => {
    await settle();
    assert.deepEqual(await list(a), ['t1', 't2', 't3']);
    const res = await fetch(`${b.url}/v2/${repo}/manifests/t1`, { method: 'DELETE' });
    assert.equal(res.status, 202);
    assert.deepEqual(await list(a), ['t2', 't3']);
  });

  test('the kept list is what is served while the folder time stays the same', async () => {
    await settle();
    assert.deepEqual(await list(a), ['t2', 't3']);
    // A change that hides from the folder time (put back by hand) is not seen: the list
    // comes from memory. Storage changed through any registry always moves the time.
    const { mtime } = await stat(tagsFolder);
    await pushManifest(b.url, repo, 't4', image.manifestBytes, ociManifestType);
    await utimes(tagsFolder, mtime, mtime);
    assert.deepEqual(await list(a), ['t2', 't3']);
    assert.deepEqual(await list(b), ['t2', 't3', 't4']);
  });
});
