import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { BlobStore } from '../../src/core/blobs.js';
import type { BlobDescriptorCache } from '../../src/core/cache/cache.js';
import { MemoryBlobDescriptorCache, sizeOnlyCache } from '../../src/core/cache/memory.js';
import { blobDataPath } from '../../src/core/paths.js';
import { InMemoryDriver } from '../../src/drivers/inmemory/index.js';
import { parseDigest, type Digest } from '../../src/oci/digest.js';

function digestOf(text: string): Digest {
  return parseDigest(`sha256:${createHash('sha256').update(text).digest('hex')}`);
}

const a = digestOf('a').value;
const b = digestOf('b').value;
const c = digestOf('c').value;

test('the in-memory cache holds at most its size, dropping the least recently used entry', async () => {
  const cache = new MemoryBlobDescriptorCache({ size: 2, links: true });
  await cache.set(a, { size: 1 });
  await cache.setLink('repo', a);
  await cache.set(b, { size: 2 });
  assert.equal(cache.entries, 2);
  assert.equal(await cache.get(a), null);
  assert.equal(await cache.hasLink('repo', a), true);
  assert.deepEqual(await cache.get(b), { size: 2 });
});

test('reading an entry makes it the most recently used', async () => {
  const cache = new MemoryBlobDescriptorCache({ size: 2, links: true });
  await cache.set(a, { size: 1 });
  await cache.set(b, { size: 2 });
  await cache.get(a);
  await cache.set(c, { size: 3 });
  assert.deepEqual(await cache.get(a), { size: 1 });
  assert.equal(await cache.get(b), null);
  assert.deepEqual(await cache.get(c), { size: 3 });
});

test('a size of 0 leaves the in-memory cache unbounded', async () => {
  const cache = new MemoryBlobDescriptorCache({ size: 0, links: true });
  for (let i = 0; i < 20_000; i++)
    await cache.set(`sha256:${String(i).padStart(64, '0')}`, { size: i });
  assert.equal(cache.entries, 20_000);
});

test('links are kept per repository and a deleted link answers false', async () => {
  const cache = new MemoryBlobDescriptorCache({ size: 10, links: true });
  await cache.setLink('one', a);
  assert.equal(await cache.hasLink('one', a), true);
  assert.equal(await cache.hasLink('two', a), false);
  await cache.deleteLink('one', a);
  assert.equal(await cache.hasLink('one', a), false);
});

test('descriptors are copies that callers cannot change in the cache', async () => {
  const cache = new MemoryBlobDescriptorCache({ size: 10, links: true });
  const descriptor = { size: 5, mediaType: 'application/octet-stream' };
  await cache.set(a, descriptor);
  descriptor.size = 6;
  const read = await cache.get(a);
  assert.deepEqual(read, { size: 5, mediaType: 'application/octet-stream' });
  if (read !== null) read.size = 7;
  assert.deepEqual(await cache.get(a), { size: 5, mediaType: 'application/octet-stream' });
});

test('the size-only cache keeps sizes and answers unknown for every link', async () => {
  const cache = sizeOnlyCache();
  await cache.set(a, { size: 1 });
  await cache.setLink('repo', a);
  assert.deepEqual(await cache.get(a), { size: 1 });
  assert.equal(await cache.hasLink('repo', a), null);
});

/** A driver whose link reads can be held until the test lets them go. */
class GatedDriver extends InMemoryDriver {
  reads = 0;
  gate: Promise<void> | null = null;

  override async getContent(path: string): Promise<Buffer> {
    this.reads++;
    const content = await super.getContent(path);
    if (this.gate !== null) await this.gate;
    return content;
  }
}

async function storeWithBlob(
  cache: BlobDescriptorCache,
): Promise<{ driver: GatedDriver; store: BlobStore; digest: Digest }> {
  const driver = new GatedDriver();
  const store = new BlobStore(driver, cache);
  const digest = digestOf('layer');
  await driver.putContent('/upload', 'layer');
  await store.commit('repo', digest, '/upload', 5);
  return { driver, store, digest };
}

test('a cached link and size answer without reading storage', async () => {
  const cache = new MemoryBlobDescriptorCache({ size: 10, links: true });
  const { driver, store, digest } = await storeWithBlob(cache);
  const before = driver.reads;
  assert.equal(await store.stat('repo', digest), 5);
  assert.equal(driver.reads, before);
});

test('a lookup fills the cache from storage after a miss', async () => {
  const cache = new MemoryBlobDescriptorCache({ size: 10, links: true });
  const { store, digest } = await storeWithBlob(cache);
  await cache.close();
  assert.equal(await cache.hasLink('repo', digest.value), false);
  assert.equal(await store.find('repo', digest), 5);
  assert.equal(await cache.hasLink('repo', digest.value), true);
  assert.deepEqual(await cache.get(digest.value), { size: 5 });
});

test('a blob deleted from a repository is not found again through the cache', async () => {
  const cache = new MemoryBlobDescriptorCache({ size: 10, links: true });
  const { store, digest } = await storeWithBlob(cache);
  assert.equal(await store.find('repo', digest), 5);
  await store.delete('repo', digest);
  assert.equal(await cache.hasLink('repo', digest.value), false);
  assert.equal(await store.find('repo', digest), null);
  await assert.rejects(store.stat('repo', digest), { code: 'BLOB_UNKNOWN' });
});

test('a lookup that read the link before a delete does not cache it after the delete', async () => {
  const cache = new MemoryBlobDescriptorCache({ size: 10, links: true });
  const { driver, store, digest } = await storeWithBlob(cache);
  await cache.deleteLink('repo', digest.value);
  let release = (): void => undefined;
  driver.gate = new Promise((r) => (release = r));
  const lookup = store.find('repo', digest);
  // The lookup has read the link and waits; the delete runs to its end meanwhile.
  while (driver.reads === 0) await new Promise((r) => setImmediate(r));
  driver.gate = null;
  await store.delete('repo', digest);
  release();
  assert.equal(await lookup, 5, 'the lookup answers what storage said when it read');
  assert.equal(await cache.hasLink('repo', digest.value), false);
  assert.equal(await store.find('repo', digest), null);
});

test('deleting a link storage does not have still clears it from the cache', async () => {
  const cache = new MemoryBlobDescriptorCache({ size: 10, links: true });
  const { store, digest } = await storeWithBlob(cache);
  await cache.setLink('other', digest.value);
  await assert.rejects(store.delete('other', digest), { code: 'BLOB_UNKNOWN' });
  assert.equal(await cache.hasLink('other', digest.value), false);
});

test('without a cache every lookup reads the link from storage', async () => {
  const driver = new GatedDriver();
  const store = new BlobStore(driver);
  const digest = digestOf('layer');
  await driver.putContent(blobDataPath(digest), 'layer');
  await store.link('repo', digest);
  assert.equal(await store.find('repo', digest), 5);
  const before = driver.reads;
  assert.equal(await store.find('repo', digest), 5);
  assert.equal(driver.reads, before + 1);
});
