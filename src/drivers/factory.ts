/**
 * Builds the configured storage driver from its name and its parameters as written in the
 * configuration (each driver's parameters are validated here, not by the config loader).
 */
import type { StorageDriver } from './driver.js';
import type { FilesystemDriverParams } from './filesystem/index.js';
import { FilesystemDriver, MIN_MAX_THREADS } from './filesystem/index.js';
import { InMemoryDriver } from './inmemory/index.js';
import { parseS3Params, S3Driver } from './s3/index.js';

/**
 * The driver `name` (`filesystem`, `inmemory` or `s3`) built from `params`. Throws an Error
 * naming the driver when it is unknown, and one naming the parameter when a parameter is
 * invalid: filesystem needs `rootdirectory` (a non-empty string) and takes `maxthreads` (an
 * integer of at least 25, or a string of one, as the reference also accepts); s3 takes the
 * reference's s3 parameters, validated by `parseS3Params` (`region` and `bucket` required).
 * Parameters a driver does not know are ignored, as the reference does; inmemory takes none.
 */
export function createDriver(name: string, params: Record<string, unknown>): StorageDriver {
  switch (name) {
    case 'filesystem':
      return new FilesystemDriver(filesystemParams(params));
    case 'inmemory':
      return new InMemoryDriver();
    case 's3':
      return new S3Driver(parseS3Params(params));
    default:
      throw new Error(`unknown storage driver: ${JSON.stringify(name)}`);
  }
}

function filesystemParams(params: Record<string, unknown>): FilesystemDriverParams {
  const root = params['rootdirectory'];
  if (typeof root !== 'string' || root === '') {
    throw new Error('storage driver "filesystem": rootdirectory must be a non-empty string');
  }
  const raw = params['maxthreads'];
  if (raw === undefined || raw === null) return { rootdirectory: root };
  const maxthreads = typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : raw;
  if (typeof maxthreads !== 'number' || !Number.isSafeInteger(maxthreads)) {
    throw new Error(
      `storage driver "filesystem": maxthreads must be an integer, got ${JSON.stringify(raw)}`,
    );
  }
  if (maxthreads < MIN_MAX_THREADS) {
    throw new Error(
      `storage driver "filesystem": maxthreads must be at least ${MIN_MAX_THREADS}, ` +
        `got ${maxthreads}`,
    );
  }
  return { rootdirectory: root, maxthreads };
}
