/**
 * The Redis blob descriptor cache (`blobdescriptor: redis`), shared by every replica that
 * uses the same Redis database. Redis is an accelerator here: when it is down, slow or
 * refusing, every call answers "unknown" (or drops its write) at once and the registry reads
 * storage, so requests get slower, never wrong and never stuck.
 *
 * Key layout, the reference registry's (registry/storage/cache/redis), so that Berth and the
 * reference can read each other's entries in one database:
 *
 *     blobs::<digest>                          hash  digest, size, mediatype: the descriptor
 *     repository::<name>::blobs                set   digests the repository links to
 *     repository::<name>::blobs::<digest>      hash  mediatype: the repository's own type;
 *                                                    the reference counts a link only when
 *                                                    this exists too, so Berth writes it
 *     berth::repository::<name>::unlinked::<digest>
 *                                              string, expiring: Berth's tombstone of a
 *                                              deleted link (the reference has none)
 *
 * Like the reference, Berth sets no expiry on the first three (configure Redis with the
 * allkeys-lru eviction policy). Repository names never contain `::`, so keys cannot collide.
 *
 * Why the tombstone: a replica may read a link from storage just before another replica
 * deletes it, and write it to Redis just after the delete removed it; the link would then
 * be served from Redis forever. A delete leaves a tombstone for `tombstoneSeconds`, and a
 * link write is refused while one exists. (A link re-pushed within that window is simply
 * not cached until it expires: slower, not wrong.)
 *
 * Why the pending deletes: a delete that cannot reach Redis must still reach it before this
 * process trusts Redis about that link again. Such deletes are kept (bounded) and replayed
 * when Redis answers again; until then their links are "unknown" here. If more pile up than
 * the bound, every repository link set is dropped from Redis on reconnection instead.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { BlobDescriptor, BlobDescriptorCache } from './cache.js';

/** The key names above. */
export const redisKeys = {
  descriptor: (digest: string): string => `blobs::${digest}`,
  repositoryBlobs: (repo: string): string => `repository::${repo}::blobs`,
  repositoryDescriptor: (repo: string, digest: string): string =>
    `repository::${repo}::blobs::${digest}`,
  unlinked: (repo: string, digest: string): string =>
    `berth::repository::${repo}::unlinked::${digest}`,
};

/** The media type the reference records for blobs it stats; Berth records no other. */
const defaultMediaType = 'application/octet-stream';

// Each write is one EVAL so that it is atomic and calls reach Redis in the order made.

/** KEYS: descriptor. ARGV: digest, size, media type. Keeps a media type already set. */
const setDescriptorScript = `
redis.call('HSET', KEYS[1], 'digest', ARGV[1], 'size', ARGV[2])
redis.call('HSETNX', KEYS[1], 'mediatype', ARGV[3])
return 1`;

/** KEYS: repository set, repository descriptor, tombstone. ARGV: digest, media type. */
const setLinkScript = `
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('HSETNX', KEYS[2], 'mediatype', ARGV[2])
return 1`;

/** KEYS: repository set, repository descriptor, tombstone. ARGV: digest, tombstone seconds. */
const deleteLinkScript = `
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
redis.call('SET', KEYS[3], '1', 'EX', ARGV[2])
return 1`;

/** How Berth connects; built from the `redis` section by factory.ts. */
export type RedisConnection = Pick<
  RedisOptions,
  'host' | 'port' | 'username' | 'password' | 'db' | 'tls' | 'connectTimeout' | 'commandTimeout'
>;

export interface RedisCacheOptions {
  connection: RedisConnection;
  log: Logger;
  /** Least time between two "redis cache unavailable" warnings; default 30 s. */
  warnIntervalMs?: number;
  /** How long Redis is not asked at all after a failed command; default 1 s. */
  pauseMs?: number;
  /** How long a deleted link cannot be written back; default 300 s. */
  tombstoneSeconds?: number;
  /** Most deletes kept for replay before all link sets are dropped instead; default 10 000. */
  maxPending?: number;
}

/**
 * The Redis implementation of {@link BlobDescriptorCache}, over one ioredis connection.
 *
 * One connection, not a pool: ioredis pipelines every command on one socket, so the
 * reference's `pool` settings have nothing to size (they are accepted and ignored). The
 * connection is made, and remade after a loss, in the background; commands are never
 * queued while it is down (`enableOfflineQueue: false`) nor retried, and each is bounded
 * by `commandTimeout`. After any failure Redis is left alone for `pauseMs`, so a hung
 * server costs one request one timeout, not every request.
 */
export class RedisBlobDescriptorCache implements BlobDescriptorCache {
  readonly #client: Redis;
  readonly #log: Logger;
  readonly #warnIntervalMs: number;
  readonly #pauseMs: number;
  readonly #tombstoneSeconds: number;
  readonly #maxPending: number;
  /** Deletes not yet applied to Redis, by `repo@digest`. */
  readonly #pending = new Map<string, { repo: string; digest: string }>();
  /** Pending deletes overflowed: no link in Redis is trusted until all are dropped. */
  #lost = false;
  #replaying = false;
  /** Retries a replay while deletes are pending and nothing else would trigger one. */
  #retry: NodeJS.Timeout | null = null;
  #pausedUntil = 0;
  #lastWarn = Number.NEGATIVE_INFINITY;
  #suppressed = 0;
  #closed = false;

  constructor(options: RedisCacheOptions) {
    this.#log = options.log;
    this.#warnIntervalMs = options.warnIntervalMs ?? 30_000;
    this.#pauseMs = options.pauseMs ?? 1_000;
    this.#tombstoneSeconds = options.tombstoneSeconds ?? 300;
    this.#maxPending = options.maxPending ?? 10_000;
    this.#client = new Redis({
      ...options.connection,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      // Reconnect for ever, at most every 2 s.
      retryStrategy: (times) => Math.min(times * 100, 2_000),
    });
    this.#client.on('error', (err: unknown) => {
      this.#warn(err);
    });
    this.#client.on('ready', () => {
      this.#pausedUntil = 0;
      this.#log.info('redis cache connected');
      this.#replay();
    });
  }

  async get(digest: string): Promise<BlobDescriptor | null> {
    const reply = await this.#ask((c) =>
      c.hmget(redisKeys.descriptor(digest), 'digest', 'size', 'mediatype'),
    );
    if (reply === null) return null;
    const [stored, sizeText, mediaType] = reply;
    const size = Number(sizeText ?? Number.NaN);
    // The reference treats a missing digest or size as a miss (older entries had `length`).
    if (stored !== digest || !Number.isSafeInteger(size) || size < 0) return null;
    return typeof mediaType === 'string' && mediaType !== '' ? { size, mediaType } : { size };
  }

  async set(digest: string, descriptor: BlobDescriptor): Promise<void> {
    const mediaType = descriptor.mediaType ?? defaultMediaType;
    await this.#ask((c) =>
      c.eval(
        setDescriptorScript,
        1,
        redisKeys.descriptor(digest),
        digest,
        descriptor.size,
        mediaType,
      ),
    );
  }

  async delete(digest: string): Promise<void> {
    await this.#ask((c) => c.hdel(redisKeys.descriptor(digest), 'digest', 'size', 'mediatype'));
  }

  async hasLink(repo: string, digest: string): Promise<boolean | null> {
    if (this.#distrusts(repo, digest)) return null;
    const member = await this.#ask((c) => c.sismember(redisKeys.repositoryBlobs(repo), digest));
    return member === null ? null : member === 1;
  }

  async setLink(repo: string, digest: string): Promise<void> {
    // A delete not yet in Redis must land first; until then the link stays uncached.
    if (this.#distrusts(repo, digest)) return;
    await this.#ask((c) =>
      c.eval(setLinkScript, 3, ...linkKeys(repo, digest), digest, defaultMediaType),
    );
  }

  async deleteLink(repo: string, digest: string): Promise<void> {
    // Pending from the start: until Redis confirms, this process must not trust the link.
    const key = `${repo}@${digest}`;
    if (!this.#lost) this.#pending.set(key, { repo, digest });
    if (await this.#unlink(repo, digest)) {
      this.#pending.delete(key);
      return;
    }
    if (this.#pending.size > this.#maxPending) {
      this.#lost = true;
      this.#pending.clear();
    }
    this.#retryLater();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry !== null) clearTimeout(this.#retry);
    this.#client.disconnect();
  }

  /** How many deletes wait to be replayed (for tests and diagnostics). */
  get pendingDeletes(): number {
    return this.#pending.size;
  }

  #distrusts(repo: string, digest: string): boolean {
    return this.#lost || this.#pending.has(`${repo}@${digest}`);
  }

  async #unlink(repo: string, digest: string): Promise<boolean> {
    const reply = await this.#ask((c) =>
      c.eval(deleteLinkScript, 3, ...linkKeys(repo, digest), digest, this.#tombstoneSeconds),
    );
    return reply !== null;
  }

  /**
   * Runs one command, or none while Redis is down or paused. The command is sent before the
   * first await, which keeps calls in order (see the contract in cache.ts). Null on failure.
   */
  async #ask<T>(command: (client: Redis) => Promise<T>): Promise<T | null> {
    if (this.#closed || this.#client.status !== 'ready' || Date.now() < this.#pausedUntil) {
      return null;
    }
    try {
      const reply = await command(this.#client);
      if (this.#pending.size > 0 || this.#lost) this.#replay();
      return reply;
    } catch (err) {
      this.#pausedUntil = Date.now() + this.#pauseMs;
      this.#warn(err);
      return null;
    }
  }

  /**
   * Applies pending deletes in the background; stops at the first failure and tries again
   * after `pauseMs`. Lookups of a pending link send nothing to Redis, so without the retry
   * a quiet registry could leave the stale link there for other replicas to read.
   */
  #replay(): void {
    if (this.#replaying || (this.#pending.size === 0 && !this.#lost)) return;
    this.#replaying = true;
    void (async () => {
      try {
        if (this.#lost && (await this.#dropAllLinkSets())) this.#lost = false;
        if (this.#lost) return;
        for (const [key, { repo, digest }] of this.#pending) {
          if (!(await this.#unlink(repo, digest))) return;
          this.#pending.delete(key);
        }
      } finally {
        this.#replaying = false;
        if (this.#pending.size > 0 || this.#lost) this.#retryLater();
      }
    })();
  }

  #retryLater(): void {
    if (this.#retry !== null || this.#closed) return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.#replay();
    }, this.#pauseMs);
    // A pending replay must not keep the process alive.
    this.#retry.unref();
  }

  /** Removes every repository link set (this registry's and the reference's). */
  async #dropAllLinkSets(): Promise<boolean> {
    let cursor = '0';
    do {
      const page = await this.#ask((c) =>
        c.scan(cursor, 'MATCH', 'repository::*::blobs', 'COUNT', 1000),
      );
      if (page === null) return false;
      const [next, keys] = page;
      if (keys.length > 0 && (await this.#ask((c) => c.unlink(...keys))) === null) return false;
      cursor = next;
    } while (cursor !== '0');
    this.#log.warn('redis cache: too many deletes missed while down; dropped all cached links');
    return true;
  }

  /** Warns at most once per interval, counting the warnings it held back. */
  #warn(err: unknown): void {
    const now = Date.now();
    if (now - this.#lastWarn < this.#warnIntervalMs) {
      this.#suppressed++;
      return;
    }
    const error = err instanceof Error ? err : new Error(String(err));
    const code = (error as NodeJS.ErrnoException).code;
    this.#log.warn(
      { err: { message: error.message, code }, suppressed: this.#suppressed },
      'redis cache unavailable; reading storage instead',
    );
    this.#lastWarn = now;
    this.#suppressed = 0;
  }
}

function linkKeys(repo: string, digest: string): [string, string, string] {
  return [
    redisKeys.repositoryBlobs(repo),
    redisKeys.repositoryDescriptor(repo, digest),
    redisKeys.unlinked(repo, digest),
  ];
}
