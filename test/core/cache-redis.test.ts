import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { pino } from 'pino';
import { RedisBlobDescriptorCache, redisKeys } from '../../src/core/cache/redis.js';
import { eventually, startRedis, type RedisServer } from '../helpers/redis.js';

let redis: RedisServer;
const caches: RedisBlobDescriptorCache[] = [];

before(async () => {
  redis = await startRedis();
});
after(async () => {
  await Promise.all(caches.map((c) => c.close()));
  await redis.stop();
});

function digestOf(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** Warnings logged by a cache, as pino objects. */
type Warnings = Record<string, unknown>[];

/** A cache on the test server, connected, with a short timeout and pause. */
async function openCache(
  options: { warnIntervalMs?: number } = {},
): Promise<{ cache: RedisBlobDescriptorCache; warnings: Warnings }> {
  const warnings: Warnings = [];
  const log = pino(
    { level: 'warn' },
    { write: (line: string) => warnings.push(JSON.parse(line) as Record<string, unknown>) },
  );
  const cache = new RedisBlobDescriptorCache({
    connection: { host: '127.0.0.1', port: redis.port, commandTimeout: 200, connectTimeout: 500 },
    log,
    pauseMs: 300,
    warnIntervalMs: options.warnIntervalMs ?? 0,
  });
  caches.push(cache);
  const probe = digestOf('probe');
  await cache.set(probe, { size: 1 });
  await eventually('the cache is connected', async () => {
    await cache.set(probe, { size: 1 });
    return (await cache.get(probe)) !== null;
  });
  return { cache, warnings };
}

/** How long an async call takes, in milliseconds. */
async function timed<T>(call: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await call();
  return { value, ms: performance.now() - start };
}

test('descriptors and links are stored under the reference registry keys', async () => {
  const { cache } = await openCache();
  const digest = digestOf('layout');
  await cache.set(digest, { size: 42 });
  await cache.setLink('library/app', digest);

  assert.deepEqual(await redis.client.hgetall(`blobs::${digest}`), {
    digest,
    size: '42',
    mediatype: 'application/octet-stream',
  });
  assert.equal(await redis.client.sismember('repository::library/app::blobs', digest), 1);
  assert.deepEqual(await redis.client.hgetall(`repository::library/app::blobs::${digest}`), {
    mediatype: 'application/octet-stream',
  });
  assert.deepEqual(await cache.get(digest), { size: 42, mediaType: 'application/octet-stream' });
  assert.equal(await cache.hasLink('library/app', digest), true);
});

test('entries written by the reference registry are read', async () => {
  const { cache } = await openCache();
  const digest = digestOf('written by the reference');
  await redis.client.hset(`blobs::${digest}`, 'digest', digest, 'size', '7', 'mediatype', 'x/y');
  await redis.client.sadd('repository::ref::blobs', digest);
  assert.deepEqual(await cache.get(digest), { size: 7, mediaType: 'x/y' });
  assert.equal(await cache.hasLink('ref', digest), true);
  assert.equal(await cache.hasLink('other', digest), false);
});

test('an entry with an old or broken size field is a miss', async () => {
  const { cache } = await openCache();
  const digest = digestOf('old entry');
  await redis.client.hset(`blobs::${digest}`, 'digest', digest, 'length', '7');
  assert.equal(await cache.get(digest), null);
  await redis.client.hset(`blobs::${digest}`, 'size', 'many');
  assert.equal(await cache.get(digest), null);
});

test('a deleted link leaves a tombstone that refuses writing the link back', async () => {
  const { cache } = await openCache();
  const digest = digestOf('tombstone');
  await cache.setLink('repo', digest);
  await cache.deleteLink('repo', digest);
  assert.equal(await cache.hasLink('repo', digest), false);
  assert.equal(await redis.client.exists(`repository::repo::blobs::${digest}`), 0);
  const ttl = await redis.client.ttl(redisKeys.unlinked('repo', digest));
  assert.ok(ttl > 0 && ttl <= 300, `tombstone ttl ${ttl}`);

  // Another replica's lookup that read storage before the delete, landing after it.
  const { cache: other } = await openCache();
  await other.setLink('repo', digest);
  assert.equal(await cache.hasLink('repo', digest), false);
  // The tombstone is per repository.
  await other.setLink('elsewhere', digest);
  assert.equal(await cache.hasLink('elsewhere', digest), true);
});

test('with Redis hung every call gives up within the timeout, then at once', async () => {
  const { cache } = await openCache();
  const digest = digestOf('hung');
  await cache.set(digest, { size: 3 });
  redis.pause();
  try {
    const first = await timed(() => cache.get(digest));
    assert.equal(first.value, null);
    assert.ok(first.ms < 1_000, `first call took ${first.ms} ms`);
    const next = await timed(() => cache.hasLink('repo', digest));
    assert.equal(next.value, null);
    assert.ok(next.ms < 50, `paused call took ${next.ms} ms`);
    await cache.set(digest, { size: 3 });
    await cache.setLink('repo', digest);
  } finally {
    redis.resume();
  }
  await eventually('the cache answers again', async () => (await cache.get(digest)) !== null);
});

test('a delete made while Redis hangs is applied when it answers again', async () => {
  const { cache } = await openCache();
  const digest = digestOf('delete while hung');
  await cache.setLink('repo', digest);
  redis.pause();
  try {
    await cache.deleteLink('repo', digest);
    assert.equal(cache.pendingDeletes, 1);
    assert.equal(await cache.hasLink('repo', digest), null, 'a pending delete is not trusted');
    // A lookup that read storage before the delete must not put the link back meanwhile.
    await cache.setLink('repo', digest);
  } finally {
    redis.resume();
  }
  // Nothing else is asked of Redis: the replay retries on its own.
  await eventually('the delete reaches Redis', async () => cache.pendingDeletes === 0);
  assert.equal(await redis.client.sismember(redisKeys.repositoryBlobs('repo'), digest), 0);
  assert.equal(await cache.hasLink('repo', digest), false);
});

test('with Redis stopped nothing fails, warnings are rate limited, and it reconnects', async () => {
  const { cache, warnings } = await openCache({ warnIntervalMs: 60_000 });
  const digest = digestOf('stopped');
  await redis.kill();
  try {
    for (let i = 0; i < 20; i++) {
      const { value, ms } = await timed(() => cache.hasLink('repo', digest));
      assert.equal(value, null);
      assert.ok(ms < 50, `call while down took ${ms} ms`);
      await cache.deleteLink('repo', digest);
    }
    // Reconnection attempts fail every 100 ms or so meanwhile.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.equal(warnings[0]?.['msg'], 'redis cache unavailable; reading storage instead');
  } finally {
    await redis.start();
  }
  await eventually('the cache reconnects and replays the deletes', async () => {
    await cache.setLink('repo', digestOf('after'));
    return (await cache.hasLink('repo', digestOf('after'))) === true && cache.pendingDeletes === 0;
  });
  // The replayed delete left its tombstone on the new server.
  assert.equal(await redis.client.exists(redisKeys.unlinked('repo', digest)), 1);
});
