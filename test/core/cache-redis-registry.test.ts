/**
 * The registry over HTTP with `storage.cache.blobdescriptor: redis`: answers stay right and
 * prompt whatever Redis does, and a deleted blob is never served from Redis.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisKeys } from '../../src/core/cache/redis.js';
import { eventually, startRedis, type RedisServer } from '../helpers/redis.js';
import { pushBlob, startTestRegistry, type TestRegistry } from '../helpers/server.js';

let redis: RedisServer;
let root: string;
/** Two replicas over one storage root and one Redis. */
let one: TestRegistry;
let two: TestRegistry;

before(async () => {
  redis = await startRedis();
  root = await mkdtemp(join(tmpdir(), 'berth-cache-'));
  const env = {
    REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR: 'redis',
    REGISTRY_REDIS_ADDR: redis.addr,
    REGISTRY_REDIS_READTIMEOUT: '200ms',
  };
  one = await startTestRegistry({ root, deleteEnabled: true, env });
  two = await startTestRegistry({ root, deleteEnabled: true, env });
});
after(async () => {
  await one.stop();
  await two.stop();
  await redis.stop();
  await rm(root, { recursive: true, force: true });
});

async function head(registry: TestRegistry, repo: string, digest: string): Promise<Response> {
  return fetch(`${registry.url}/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
}

/** A HEAD's status and length, and how long it took in milliseconds. */
async function timedHead(
  registry: TestRegistry,
  repo: string,
  digest: string,
): Promise<{ status: number; length: string | null; ms: number }> {
  const start = performance.now();
  const res = await head(registry, repo, digest);
  return {
    status: res.status,
    length: res.headers.get('content-length'),
    ms: performance.now() - start,
  };
}

async function getBody(registry: TestRegistry, repo: string, digest: string): Promise<string> {
  const res = await fetch(`${registry.url}/v2/${repo}/blobs/${digest}`);
  assert.equal(res.status, 200);
  return res.text();
}

async function deleteBlob(registry: TestRegistry, repo: string, digest: string): Promise<number> {
  const res = await fetch(`${registry.url}/v2/${repo}/blobs/${digest}`, { method: 'DELETE' });
  await res.arrayBuffer();
  return res.status;
}

/** Waits until the registries' connection to Redis took `repo`'s link to `digest`. */
async function cachedInRedis(repo: string, digest: string): Promise<void> {
  await eventually(`${repo}@${digest} is cached in Redis`, async () => {
    await head(one, repo, digest);
    return (await redis.client.sismember(redisKeys.repositoryBlobs(repo), digest)) === 1;
  });
}

test('a pushed and looked-up blob is cached in Redis under the reference keys', async () => {
  const digest = await pushBlob(one.url, 'cache/layout', 'layout bytes');
  await cachedInRedis('cache/layout', digest);
  assert.equal(await redis.client.hget(`blobs::${digest}`, 'size'), '12');
  assert.equal((await timedHead(two, 'cache/layout', digest)).status, 200);
});

test('a blob deleted through the API is not served from the cache, on either replica', async () => {
  const digest = await pushBlob(one.url, 'cache/deleted', 'soon gone');
  await cachedInRedis('cache/deleted', digest);
  assert.equal((await timedHead(two, 'cache/deleted', digest)).status, 200);

  assert.equal(await deleteBlob(one, 'cache/deleted', digest), 202);
  assert.equal((await timedHead(one, 'cache/deleted', digest)).status, 404);
  assert.equal((await timedHead(two, 'cache/deleted', digest)).status, 404);
  const res = await fetch(`${two.url}/v2/cache/deleted/blobs/${digest}`);
  assert.equal(res.status, 404);
  await res.arrayBuffer();
  assert.equal(await redis.client.sismember(redisKeys.repositoryBlobs('cache/deleted'), digest), 0);
});

test('with Redis stopped the registry answers HEAD and GET right and at once', async () => {
  const digest = await pushBlob(one.url, 'cache/down', 'served while redis is down');
  await cachedInRedis('cache/down', digest);
  await redis.kill();
  try {
    for (const registry of [one, two, one]) {
      const { status, length, ms } = await timedHead(registry, 'cache/down', digest);
      assert.equal(status, 200);
      assert.equal(length, '26');
      assert.ok(ms < 1_000, `HEAD took ${ms} ms with Redis down`);
    }
    assert.equal(await getBody(two, 'cache/down', digest), 'served while redis is down');
    const missing = await timedHead(one, 'cache/down', `sha256:${'0'.repeat(64)}`);
    assert.equal(missing.status, 404);

    const pushed = await pushBlob(two.url, 'cache/down', 'pushed while redis is down');
    assert.equal(await getBody(one, 'cache/down', pushed), 'pushed while redis is down');
    assert.equal(await deleteBlob(one, 'cache/down', pushed), 202);
    assert.equal((await timedHead(two, 'cache/down', pushed)).status, 404);
  } finally {
    await redis.start();
  }
  // Back, empty: the registries reconnect and fill it again.
  await cachedInRedis('cache/down', digest);
});

test('with Redis hung a HEAD stays under a second and a delete still takes effect', async () => {
  const digest = await pushBlob(one.url, 'cache/hung', 'served while redis hangs');
  await cachedInRedis('cache/hung', digest);
  assert.equal((await timedHead(two, 'cache/hung', digest)).status, 200);
  redis.pause();
  try {
    for (const registry of [one, two, one, two]) {
      const { status, length, ms } = await timedHead(registry, 'cache/hung', digest);
      assert.equal(status, 200);
      assert.equal(length, '24');
      assert.ok(ms < 1_000, `HEAD took ${ms} ms with Redis hung`);
    }
    const start = performance.now();
    assert.equal(await deleteBlob(one, 'cache/hung', digest), 202);
    assert.ok(performance.now() - start < 1_000, 'DELETE waited for Redis');
    assert.equal((await timedHead(one, 'cache/hung', digest)).status, 404);
  } finally {
    redis.resume();
  }
  // The delete reaches Redis once it answers, and no replica serves the blob again.
  await eventually('the delete reaches Redis', async () => {
    const member = await redis.client.sismember(redisKeys.repositoryBlobs('cache/hung'), digest);
    return member === 0;
  });
  assert.equal((await timedHead(two, 'cache/hung', digest)).status, 404);
  assert.equal((await timedHead(one, 'cache/hung', digest)).status, 404);
});
