/**
 * Process assembly: from a validated configuration to a listening registry. Builds the
 * logger, the storage driver, the worker pool, the registry core and the HTTP server, and
 * takes them down again in order.
 */
import type { Logger } from 'pino';
import type { Config } from './config/types.js';
import type { StorageDriver } from './drivers/driver.js';
import { createAccessController } from './auth/factory.js';
import { parseGoDuration } from './config/duration.js';
import { createBlobCache } from './core/cache/factory.js';
import { schedulePurge } from './core/purge.js';
import { compilePolicy } from './core/manifest-policy.js';
import { Registry } from './core/registry.js';
import { createDriver } from './drivers/factory.js';
import { applyStorageMiddleware } from './drivers/middleware/index.js';
import { HttpServer } from './http/server.js';
import { createLogger } from './log/logger.js';
import { WorkerPool } from './workers/pool.js';

/** How long SIGTERM waits for requests under way when `http.draintimeout` is not set. */
const defaultDrainMs = 30_000;

/** A running registry. */
export interface RunningRegistry {
  /** The TCP port it listens on (0 on a unix socket). */
  port: number;
  log: Logger;
  /** Stops taking requests, waits for those under way (`http.draintimeout`), frees everything. */
  stop(): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  /** Worker shards; one per core when not given. */
  shards?: number;
  /** Warnings from loading the configuration, logged once at start. */
  warnings?: string[];
}

/** Starts a registry for a configuration. */
export async function startRegistry(
  config: Readonly<Config>,
  options: StartOptions = {},
): Promise<RunningRegistry> {
  const log = options.log ?? createLogger(config.log);
  for (const warning of options.warnings ?? []) log.warn(warning);

  const { driver: driverName, parameters } = config.storage;
  const middleware = applyStorageMiddleware(
    createDriver(driverName, parameters),
    config.storage.middleware,
    log,
  );
  const { driver } = middleware;
  const pool = await WorkerPool.create({ driver: driverName, parameters }, options.shards);
  const policy = compilePolicy(config.manifests);
  let blobCache;
  try {
    blobCache = await createBlobCache(config.storage.cache, log);
  } catch (err) {
    await pool.close();
    throw err;
  }
  const registry = new Registry(driver, pool, config.http.secret, policy, { blobCache });
  let auth;
  try {
    auth = await createAccessController(config.auth, log);
  } catch (err) {
    await pool.close();
    await blobCache.close();
    throw err;
  }
  const server = new HttpServer({
    http: config.http,
    api: {
      registry,
      deleteEnabled: config.storage.delete.enabled,
      readOnly: config.storage.maintenance.readonly.enabled,
      redirectDisabled: config.storage.redirect.disable,
      auth,
    },
    log,
    accessLog: !config.log.accesslog.disabled,
  });
  let port: number;
  try {
    ({ port } = await server.listen());
  } catch (err) {
    await pool.close();
    await blobCache.close();
    await auth?.close();
    throw err;
  }
  log.info({ addr: config.http.addr, port, driver: driverName }, 'listening');
  middleware.start();
  const stopPurge = startPurging(config, driver, log);

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      stopPurge();
      middleware.stop();
      const left = await server.drain(config.http.draintimeoutMs || defaultDrainMs);
      if (left > 0) log.warn({ requests: left }, 'drain timed out; closing connections');
      await server.close();
      await pool.close();
      await blobCache.close();
      await auth?.close();
      log.info('stopped');
    })();
    return stopping;
  };
  return { port, log, stop };
}

function startPurging(config: Readonly<Config>, driver: StorageDriver, log: Logger): () => void {
  const purging = config.storage.maintenance.uploadpurging;
  const ageMs = parseGoDuration(purging.age);
  const intervalMs = parseGoDuration(purging.interval);
  // A read-only registry writes nothing, purges included (as the reference).
  if (!purging.enabled || config.storage.maintenance.readonly.enabled) return () => undefined;
  if (ageMs === undefined || intervalMs === undefined || intervalMs <= 0) {
    log.warn(
      { age: purging.age, interval: purging.interval },
      'upload purging disabled: bad durations',
    );
    return () => undefined;
  }
  return schedulePurge(driver, { ageMs, intervalMs, dryRun: purging.dryrun }, log);
}
