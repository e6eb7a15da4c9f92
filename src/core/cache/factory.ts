/**
 * Builds the blob descriptor cache a configuration asks for, mapping the reference's Redis
 * settings onto ioredis.
 */
import { readFile } from 'node:fs/promises';
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { BlobCacheConfig, RedisConfig } from '../../config/types.js';
import type { BlobDescriptorCache } from './cache.js';
import { MemoryBlobDescriptorCache, sizeOnlyCache } from './memory.js';
import { RedisBlobDescriptorCache, type RedisConnection } from './redis.js';
import { parseRedisAddr } from './settings.js';

/** go-redis's default dial timeout, used when `redis.dialtimeout` is not set. */
const DEFAULT_DIAL_TIMEOUT_MS = 5_000;

/**
 * Used when neither `redis.readtimeout` nor `writetimeout` is set. Shorter than go-redis's
 * 3 s on purpose: a request waits on the cache before it may read storage, and a cache that
 * answers late is worse than none.
 */
const DEFAULT_COMMAND_TIMEOUT_MS = 250;

/**
 * The cache of `storage.cache`. A Redis cache starts connecting in the background and is
 * returned at once: a Redis that is down at start makes the registry slower, not absent.
 * Rejects only when a TLS file of `redis.tls` cannot be read.
 */
export async function createBlobCache(
  config: BlobCacheConfig,
  log: Logger,
): Promise<BlobDescriptorCache> {
  if (config.kind === 'none') return sizeOnlyCache();
  if (config.kind === 'inmemory' || config.redis === undefined) {
    log.info({ size: config.size }, 'using inmemory blob descriptor cache');
    return new MemoryBlobDescriptorCache({ size: config.size, links: true });
  }
  const connection = await redisConnection(config.redis);
  log.info({ addr: config.redis.addr, db: config.redis.db }, 'using redis blob descriptor cache');
  return new RedisBlobDescriptorCache({ connection, log });
}

/**
 * The ioredis options of a `redis` section:
 *
 * - `dialtimeout` → `connectTimeout`;
 * - `readtimeout`, `writetimeout` → `commandTimeout`, the larger of the two: ioredis bounds
 *   a command's whole round trip, not its two halves;
 * - `pool` → nothing: one connection carries every command (see redis.ts);
 * - `tls` → TLS with the client certificate and key, and the CAs (`clientcas`, `rootcas`)
 *   instead of the system's when given; `tls.enabled` alone uses the system's CAs.
 */
export async function redisConnection(redis: RedisConfig): Promise<RedisConnection> {
  const { host, port } = parseRedisAddr(redis.addr) ?? { host: 'localhost', port: 6379 };
  const connection: RedisConnection = {
    host,
    port,
    db: redis.db,
    connectTimeout: redis.dialtimeoutMs || DEFAULT_DIAL_TIMEOUT_MS,
    commandTimeout:
      Math.max(redis.readtimeoutMs, redis.writetimeoutMs) || DEFAULT_COMMAND_TIMEOUT_MS,
  };
  if (redis.username !== '') connection.username = redis.username;
  if (redis.password !== '') connection.password = redis.password;
  if (redis.tls !== null) {
    const tls: ConnectionOptions = {};
    if (redis.tls.certificate !== null && redis.tls.key !== null) {
      tls.cert = await readTlsFile('certificate', redis.tls.certificate);
      tls.key = await readTlsFile('key', redis.tls.key);
    }
    if (redis.tls.cas.length > 0) {
      tls.ca = await Promise.all(redis.tls.cas.map((file) => readTlsFile('rootcas', file)));
    }
    connection.tls = tls;
  }
  return connection;
}

async function readTlsFile(key: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new Error(`redis.tls.${key}: cannot read ${file} (${code})`);
  }
}
