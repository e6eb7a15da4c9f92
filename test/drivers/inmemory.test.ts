/** The driver suite against the inmemory driver, plus what is particular to it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InMemoryDriver } from '../../src/drivers/inmemory/index.js';
import { runDriverSuite } from './driver-suite.js';

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
