/**
 * The configuration of the blob descriptor cache: the `storage.cache` and top-level `redis`
 * sections (configuration.md), validated here as each driver validates its own section, and
 * turned into a {@link BlobCacheConfig}. The config loader calls in; nothing here connects.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { parseGoDuration } from '../../config/duration.js';
import { bool, integer, isRecord, section, text } from '../../config/schema-kit.js';
import type { BlobCacheConfig, RedisTlsConfig } from '../../config/types.js';
import { DEFAULT_MEMORY_CACHE_SIZE } from './memory.js';

const cacheKind = z.enum(['inmemory', 'redis'], { error: 'expected inmemory or redis' }).optional();

/** `storage.cache`. `layerinfo` is the reference's old name of `blobdescriptor`. */
export const cacheSectionSchema = section({
  blobdescriptor: cacheKind,
  layerinfo: cacheKind,
  blobdescriptorsize: integer(0),
});

/** `host:port`, `[v6]:port` or `:port` (Go's dialer reads an empty host as the local one). */
export function parseRedisAddr(addr: string): { host: string; port: number } | null {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr.trim());
  const port = Number(match?.[3]);
  if (match === null || port < 1 || port > 65_535) return null;
  const host = match[1] ?? match[2] ?? '';
  return { host: host === '' ? 'localhost' : host, port };
}

const address = text()
  .unwrap()
  .refine((v) => parseRedisAddr(v) !== null, 'expected host:port');

/** A Go duration string, or a number of nanoseconds (a Go time.Duration as yaml.v2 reads one). */
const duration = z
  .union([z.string(), z.number()], { error: 'expected a duration such as 100ms' })
  .refine((v) => {
    const ms = toMs(v);
    return ms !== undefined && Number.isFinite(ms) && ms >= 0;
  }, 'expected a non-negative duration such as 100ms or 5s')
  .optional();

function toMs(value: string | number | undefined): number | undefined {
  if (value === undefined) return 0;
  return typeof value === 'number' ? value / 1e6 : parseGoDuration(value);
}

/** A list of paths; a single string (as a REGISTRY_* value may give) is a list of one. */
const paths = z
  .preprocess(
    (v) => (typeof v === 'string' ? [v] : v),
    z.array(text().unwrap(), { error: 'expected a list of paths' }),
  )
  .optional();

/**
 * The top-level `redis` section: the reference's 2.x keys (`addr`, `pool`, `tls.enabled`)
 * and its 3.x ones (`username`, `addrs` with one address, `tls` certificate files).
 */
export const redisSectionSchema = section({
  addr: address.optional(),
  addrs: z
    .array(address, { error: 'expected a list of host:port' })
    .refine(
      (list) => list.length <= 1,
      'Berth connects to one Redis server; a cluster or sentinel list is not supported',
    )
    .optional(),
  username: text(),
  password: text(),
  db: integer(0),
  dialtimeout: duration,
  readtimeout: duration,
  writetimeout: duration,
  pool: section({ maxidle: integer(0), maxactive: integer(0), idletimeout: duration }),
  tls: section({
    enabled: bool(),
    certificate: text(),
    key: text(),
    // `clientcas` in the reference's 3.0, `rootcas` since: both are the CAs checked against
    // the server's certificate.
    clientcas: paths,
    rootcas: paths,
  }).refine(
    (tls) => (tls?.certificate ?? '') === '' || (tls?.key ?? '') !== '',
    'expected a key with the certificate (mutual TLS needs both)',
  ),
});

type CacheSection = z.output<typeof cacheSectionSchema>;
type RedisSection = z.output<typeof redisSectionSchema>;

function kindOf(cache: unknown): unknown {
  return isRecord(cache) ? (cache['blobdescriptor'] ?? cache['layerinfo']) : undefined;
}

/**
 * Checks across sections, on the whole document: a Redis cache needs `redis.addr` (or
 * `redis.addrs`), reported on that key.
 */
export function checkRedisNeeded(value: unknown, ctx: z.RefinementCtx): void {
  if (!isRecord(value)) return;
  const storage = value['storage'];
  if (kindOf(isRecord(storage) ? storage['cache'] : undefined) !== 'redis') return;
  const redis = value['redis'];
  const addrs = isRecord(redis) ? redis['addrs'] : undefined;
  const hasAddr =
    isRecord(redis) &&
    ((typeof redis['addr'] === 'string' && redis['addr'] !== '') ||
      (Array.isArray(addrs) && addrs.length > 0));
  if (!hasAddr) {
    ctx.addIssue({
      code: 'custom',
      path: ['redis', 'addr'],
      message: 'required when storage.cache.blobdescriptor is redis',
    });
  }
}

/**
 * The cache configuration of a validated file, with the reference's defaults. Relative TLS
 * paths resolve against `cwd`. Pushes a warning for each setting that has no effect.
 */
export function buildBlobCacheConfig(
  cache: CacheSection,
  redis: RedisSection,
  cwd: string,
  warnings: string[],
): BlobCacheConfig {
  const kind = (kindOf(cache) as 'inmemory' | 'redis' | undefined) ?? 'none';
  if (cache?.blobdescriptor === undefined && cache?.layerinfo !== undefined) {
    warnings.push('storage.cache.layerinfo: deprecated, use storage.cache.blobdescriptor');
  }
  if (kind !== 'inmemory' && cache?.blobdescriptorsize !== undefined) {
    warnings.push('storage.cache.blobdescriptorsize: only used by the inmemory cache, ignored');
  }
  const size = cache?.blobdescriptorsize ?? DEFAULT_MEMORY_CACHE_SIZE;
  if (kind !== 'redis') {
    if (redis !== undefined) {
      warnings.push('redis: only used when storage.cache.blobdescriptor is redis, ignored');
    }
    return { kind, size };
  }

  // Validation guarantees an address when the cache is redis.
  const r = redis ?? {};
  if (r.pool !== undefined) {
    warnings.push('redis.pool: Berth uses one pipelined connection per process, ignored');
  }
  return {
    kind,
    size,
    redis: {
      addr: r.addr ?? r.addrs?.[0] ?? '',
      username: r.username ?? '',
      password: r.password ?? '',
      db: r.db ?? 0,
      dialtimeoutMs: toMs(r.dialtimeout) ?? 0,
      readtimeoutMs: toMs(r.readtimeout) ?? 0,
      writetimeoutMs: toMs(r.writetimeout) ?? 0,
      pool: {
        maxidle: r.pool?.maxidle ?? 0,
        maxactive: r.pool?.maxactive ?? 0,
        idletimeoutMs: toMs(r.pool?.idletimeout) ?? 0,
      },
      tls: buildTls(r.tls, cwd),
    },
  };
}

function buildTls(tls: NonNullable<RedisSection>['tls'], cwd: string): RedisTlsConfig | null {
  const path = (p: string | undefined) => (p === undefined || p === '' ? null : resolve(cwd, p));
  const certificate = path(tls?.certificate);
  const cas = [...(tls?.clientcas ?? []), ...(tls?.rootcas ?? [])].map((p) => resolve(cwd, p));
  if (tls?.enabled !== true && certificate === null && cas.length === 0) return null;
  return { certificate, key: certificate === null ? null : path(tls?.key), cas };
}
