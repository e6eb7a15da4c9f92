/**
 * Upload purging (configuration.md, `storage.maintenance.uploadpurging`): removes upload
 * folders older than `age`, every `interval`, as the reference does. An upload's age is its
 * `startedat`; a folder without one (a single-request upload cut off mid-way) is aged by the
 * modification time of what it holds.
 */
import type { Logger } from 'pino';
import type { StorageDriver } from '../drivers/driver.js';
import { repositoryNames } from './catalog.js';
import { deleteIfPresent, orNull } from './links.js';
import { childrenOrNone } from './listing.js';
import { repositoryPath } from './paths.js';

/** Repositories holding uploads, whether or not they hold anything else yet. */
const uploadsMarker = '_uploads';

export interface PurgeOptions {
  ageMs: number;
  dryRun: boolean;
}

/**
 * Removes uploads older than `ageMs`; returns how many it removed (or would remove). Walks
 * the repositories and their upload folders as they are listed, deleting as it goes, so
 * that any number of either is purged in bounded memory.
 */
export async function purgeUploads(
  driver: StorageDriver,
  options: PurgeOptions,
  log: Logger,
  now = Date.now(),
): Promise<number> {
  let purged = 0;
  for await (const name of repositoryNames(driver, uploadsMarker)) {
    for await (const folder of childrenOrNone(driver, `${repositoryPath(name)}/_uploads`)) {
      const started = await startedAt(driver, folder);
      if (started === null || now - started < options.ageMs) continue;
      purged++;
      log.info({ repo: name, upload: folder, dryRun: options.dryRun }, 'purging old upload');
      if (!options.dryRun) await deleteIfPresent(driver, folder);
    }
  }
  return purged;
}

async function startedAt(driver: StorageDriver, folder: string): Promise<number | null> {
  const text = await orNull(driver.getContent(`${folder}/startedat`));
  const parsed = text === null ? NaN : Date.parse(text.toString().trim());
  if (!Number.isNaN(parsed)) return parsed;
  const data = await orNull(driver.stat(`${folder}/data`));
  return data?.modTime.getTime() ?? (await orNull(driver.stat(folder)))?.modTime.getTime() ?? null;
}

/**
 * Runs `purgeUploads` every `intervalMs`, the first time after a random delay of up to a
 * minute so that replicas started together do not purge together. Returns a stop function.
 */
export function schedulePurge(
  driver: StorageDriver,
  options: PurgeOptions & { intervalMs: number },
  log: Logger,
): () => void {
  let timer: NodeJS.Timeout;
  const run = (): void => {
    purgeUploads(driver, options, log)
      .catch((err: unknown) => log.error({ err }, 'upload purge failed'))
      .finally(() => {
        timer = setTimeout(run, options.intervalMs).unref();
      });
  };
  timer = setTimeout(run, Math.floor(Math.random() * 60_000)).unref();
  return () => clearTimeout(timer);
}
