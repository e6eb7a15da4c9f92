/**
 * Streaming folder listings for the core: a folder read as its children come, in name order,
 * so that no caller needs a whole folder in memory (see the driver's `listFrom`).
 */
import { isNotFound, type StorageDriver } from '../drivers/driver.js';

/**
 * The children of `dir` after `startAfter`, as `listFrom` yields them; a missing folder (or
 * one that goes missing meanwhile) yields nothing more, as `orNull` answers for one call.
 */
export async function* childrenOrNone(
  driver: StorageDriver,
  dir: string,
  startAfter?: string,
): AsyncGenerator<string> {
  try {
    yield* driver.listFrom(dir, startAfter);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/**
 * The items of `items` in arrays of at most `size`, so that a caller can work on a few at
 * once (reads in parallel) while holding no more than `size` of them.
 */
export async function* inBatches<T>(items: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let batch: T[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** The last component of a path. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
