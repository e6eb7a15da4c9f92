/**
 * The scale check of `listFrom`, for each driver's test file: a folder of many children is
 * listed in name order, from the start and from a name in the middle, while the heap stays
 * flat. The children's names are long (about 60 characters) so that a driver collecting
 * them all would show: 100 000 of them as full paths hold some 9 MiB.
 */
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { StorageDriver } from '../../src/drivers/driver.js';

/** The name of the i-th child of a scale folder; names sort as their indexes do. */
export function scaleName(i: number): string {
  return `layer-${String(i).padStart(6, '0')}-${'x'.repeat(48)}`;
}

/** Heap growth a listing may show: the bounds of the drivers are 1-2 MiB at 100 000. */
export const HEAP_LIMIT = 4 * 1024 * 1024;

/** V8's full collection, exposed at run time: `node --test` gives test files no flags. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** The heap in use after a full collection. */
function heapAfterGc(gc: () => void): number {
  gc();
  return process.memoryUsage().heapUsed;
}

/**
 * Lists `dir` (holding children `scaleName(0..count-1)`) with `listFrom` after the child
 * `from` (or from the start), checking each path as it comes and keeping none. Returns the
 * largest heap growth seen, sampled after a full collection every `count / 5` children.
 */
export async function listScaleFolder(
  driver: StorageDriver,
  dir: string,
  count: number,
  from?: number,
): Promise<number> {
  const gc = collector();
  const every = Math.max(1, Math.floor(count / 5));
  const before = heapAfterGc(gc);
  let growth = 0;
  let next = from === undefined ? 0 : from + 1;
  const startAfter = from === undefined ? undefined : scaleName(from);
  for await (const path of driver.listFrom(dir, startAfter)) {
    if (path !== `${dir}/${scaleName(next)}`) assert.fail(`child ${next} is ${path}`);
    next++;
    if (next % every === 0) growth = Math.max(growth, heapAfterGc(gc) - before);
  }
  assert.equal(next, count, 'every child after the start was listed');
  return growth;
}

/**
 * The heap growth of holding `list`'s answer for `dir`: what listFrom must stay below. Run it
 * after the listFrom measures, whose baseline it would otherwise raise.
 */
export async function listWholeFolder(driver: StorageDriver, dir: string): Promise<number> {
  const gc = collector();
  const before = heapAfterGc(gc);
  const all = await driver.list(dir);
  const growth = heapAfterGc(gc) - before;
  assert.ok(all.length > 0);
  return growth;
}
