/**
 * The worker threads that hash and write blob bytes run at a lower priority than the main
 * thread (WORKER_NICE in src/workers/messages.ts), read back from the kernel per thread.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { WORKER_NICE } from '../../src/workers/messages.js';
import { pushBlob, startTestRegistry } from '../helpers/server.js';

/** The nice value of each thread of this process (field 19 of /proc/self/task/N/stat). */
async function niceValues(): Promise<Map<string, number>> {
  const values = new Map<string, number>();
  for (const tid of await readdir('/proc/self/task')) {
    const stat = await readFile(`/proc/self/task/${tid}/stat`, 'utf8').catch(() => null);
    if (stat === null) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    values.set(tid, Number(fields[16]));
  }
  return values;
}

test('blob workers run niced, the main thread does not', async () => {
  const before = await niceValues();
  const main = before.get(String(process.pid));
  assert.ok(main !== undefined);
  const registry = await startTestRegistry();
  try {
    await pushBlob(registry.url, 'nice/repo', 'some bytes');
    const after = await niceValues();
    const expected = Math.min(19, main + WORKER_NICE);
    const niced = [...after].filter(([tid, nice]) => !before.has(tid) && nice === expected);
    // The test registry runs two shards, one thread each (the suite itself may run niced).
    assert.equal(niced.length, 2, `threads and nice values: ${JSON.stringify([...after])}`);
    assert.equal(after.get(String(process.pid)), main);
  } finally {
    await registry.stop();
  }
});
