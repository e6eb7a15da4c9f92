/**
 * Link files: small files holding one digest, the registry's pointers (see paths.ts).
 * Not-found is an expected answer here, returned as null rather than thrown.
 */
import { isNotFound, type StorageDriver } from '../drivers/driver.js';
import { tryParseDigest, type Digest } from '../oci/digest.js';

/** The digest a link holds, or null when the link does not exist or holds no valid digest. */
export async function readLink(driver: StorageDriver, path: string): Promise<Digest | null> {
  try {
    return tryParseDigest((await driver.getContent(path)).toString().trim());
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** Writes a link atomically. */
export async function writeLink(
  driver: StorageDriver,
  path: string,
  digest: Digest,
): Promise<void> {
  await driver.putContent(path, digest.value);
}

/** Runs a driver call, answering null where the path does not exist. */
export async function orNull<T>(call: Promise<T>): Promise<T | null> {
  try {
    return await call;
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** Deletes a path, doing nothing when it is already gone. Returns whether it existed. */
export async function deleteIfPresent(driver: StorageDriver, path: string): Promise<boolean> {
  return (await orNull(driver.delete(path))) !== null;
}
