/** `createDriver`: picks the driver by name and validates its parameters. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createDriver } from '../../src/drivers/factory.js';
import { FilesystemDriver } from '../../src/drivers/filesystem/index.js';
import { InMemoryDriver } from '../../src/drivers/inmemory/index.js';

describe('createDriver', () => {
  test('builds the filesystem and inmemory drivers by name', () => {
    const fs = createDriver('filesystem', { rootdirectory: '/tmp/berth-x', maxthreads: 50 });
    assert.ok(fs instanceof FilesystemDriver);
    assert.equal(fs.name, 'filesystem');
    assert.ok(createDriver('filesystem', { rootdirectory: '/r', maxthreads: '40' }));
    const mem = createDriver('inmemory', {});
    assert.ok(mem instanceof InMemoryDriver);
    assert.equal(mem.name, 'inmemory');
  });

  test('an unknown driver is an error naming it', () => {
    assert.throws(() => createDriver('s4', {}), /s4/);
  });

  test('filesystem parameters are validated', () => {
    assert.throws(() => createDriver('filesystem', {}), /rootdirectory/);
    assert.throws(() => createDriver('filesystem', { rootdirectory: 7 }), /rootdirectory/);
    for (const maxthreads of [24, 0, -1, 30.5, 'many', true]) {
      assert.throws(
        () => createDriver('filesystem', { rootdirectory: '/r', maxthreads }),
        /maxthreads/,
        String(maxthreads),
      );
    }
  });
});
