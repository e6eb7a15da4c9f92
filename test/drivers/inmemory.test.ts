/** The driver suite against the inmemory driver, plus what is particular to it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InMemoryDriver } from '../../src/drivers/inmemory/index.js';
import { runDriverSuite } from './driver-suite.js';
import { HEAP_LIMIT, listScaleFolder, listWholeFolder, scaleName } from './listing-scale.js';

runDriverSuite('inmemory', async () => ({
  driver: new InMemoryDriver(),
  cleanup: async () => undefined,
}));

test('inmemory directories exist only while a file lies beneath them', async () => {
  const d = new InMemoryDriver();
  assert.equal(d.sharedAcrossThreads, false);
  await d.putContent('/a/b/c/file', 'x');
  await d.putContent('/a/keep', 'k');
  await d.delete('/a/b/c/file');
  await assert.rejects(d.stat('/a/b'), { name: 'PathNotFoundError' });
  assert.deepEqual(await d.list('/a'), ['/a/keep']);
  await d.move('/a/keep', '/z/keep');
  assert.deepEqual(await d.list('/'), ['/z']);
});

test('inmemory listFrom streams a folder of 100 000 children with a flat heap', async (t) => {
  const d = new InMemoryDriver();
  const count = 100_000;
  for (let i = 0; i < count; i++) await d.putContent(`/scale/${scaleName(i)}`, '');
  const streamed = await listScaleFolder(d, '/scale', count);
  const fromMiddle = await listScaleFolder(d, '/scale', count, 54_321);
  const whole = await listWholeFolder(d, '/scale');
  t.diagnostic(
    `heap growth: list ${whole} B, listFrom ${streamed} B, from the middle ${fromMiddle} B`,
  );
  assert.ok(whole > HEAP_LIMIT, 'holding every path shows above the limit');
  assert.ok(streamed < HEAP_LIMIT && fromMiddle < HEAP_LIMIT);
});
