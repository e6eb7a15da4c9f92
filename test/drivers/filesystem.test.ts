/** The driver suite against the filesystem driver, plus its on-disk layout and limits. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import {
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rename,
  rm,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InvalidOffsetError, PathNotFoundError } from '../../src/drivers/driver.js';
import {
  FilesystemDriver,
  onLocalFileSystem,
  readChunkFor,
  TEMP_PREFIX,
} from '../../src/drivers/filesystem/index.js';
import { runDriverSuite } from './driver-suite.js';
import { HEAP_LIMIT, listScaleFolder, listWholeFolder, scaleName } from './listing-scale.js';

async function freshRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'berth-drv-'));
}

runDriverSuite('filesystem', async () => {
  const root = await freshRoot();
  return {
    driver: new FilesystemDriver({ rootdirectory: root }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

describe('filesystem storage driver on disk', () => {
  let root = '';
  let driver: FilesystemDriver;
  before(async () => {
    root = await freshRoot();
    driver = new FilesystemDriver({ rootdirectory: root, maxthreads: 25 });
  });
  after(() => rm(root, { recursive: true, force: true }));

  test('putContent lands as the plain path under the root and leaves no temp file', async () => {
    const bytes = Buffer.from('sha256:0123abcd');
    for (let i = 0; i < 5; i++) await driver.putContent('/docker/registry/v2/x/link', bytes);
    const dir = join(root, 'docker', 'registry', 'v2', 'x');
    assert.deepEqual(await readFile(join(dir, 'link')), bytes);
    assert.deepEqual(await readdir(dir), ['link']);
    assert.deepEqual(await readdir(root), ['docker']);
  });

  /** Counts `fsync`s and `fdatasync`s made through fs/promises file handles during `run`. */
  const countSyncs = async (run: () => Promise<void>): Promise<{ sync: number; data: number }> => {
    const handle = await open(root, 'r');
    const proto = Object.getPrototypeOf(handle) as FileHandle;
    await handle.close();
    // Taken off the prototype to be put back; always called with a handle as `this`.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const { sync, datasync } = proto;
    const counts = { sync: 0, data: 0 };
    proto.sync = function (this: FileHandle) {
      counts.sync++;
      return sync.call(this);
    };
    proto.datasync = function (this: FileHandle) {
      counts.data++;
      return datasync.call(this);
    };
    try {
      await run();
    } finally {
      proto.sync = sync;
      proto.datasync = datasync;
    }
    return counts;
  };

  test('putContent syncs the data, its folder and the parent of every folder it created', async () => {
    await mkdir(join(root, 'sync'));
    // Creates /sync/a and /sync/a/b: the new names live in /sync and /sync/a, the file in b.
    const counts = await countSyncs(() => driver.putContent('/sync/a/b/link', 'x'));
    assert.deepEqual(counts, { sync: 3, data: 1 });
    const again = await countSyncs(() => driver.putContent('/sync/a/b/link', 'y'));
    assert.deepEqual(again, { sync: 1, data: 1 });
  });

  test('putContent that need not be durable syncs nothing and is still whole', async () => {
    const counts = await countSyncs(() => driver.putContent('/nosync/x/startedat', 'now', false));
    assert.deepEqual(counts, { sync: 0, data: 0 });
    assert.equal(await readFile(join(root, 'nosync', 'x', 'startedat'), 'utf8'), 'now');
    assert.deepEqual(await readdir(join(root, 'nosync', 'x')), ['startedat']);
  });

  test('a move into new folders syncs the target folder and the parents of the new ones', async () => {
    await driver.putContent('/mv/upload/data', 'blob');
    // New: blobs, ab and abcd, named in mv, blobs and ab; the file is named in abcd.
    const counts = await countSyncs(() => driver.move('/mv/upload/data', '/mv/blobs/ab/abcd/data'));
    assert.deepEqual(counts, { sync: 4, data: 0 });
    assert.equal(await readFile(join(root, 'mv', 'blobs', 'ab', 'abcd', 'data'), 'utf8'), 'blob');
  });

  test('folder times are trusted on a local root, even one not created yet', () => {
    assert.equal(onLocalFileSystem(join(root, 'not', 'yet')), true);
    assert.equal(new FilesystemDriver({ rootdirectory: join(root, 'later') }).folderTimes, true);
  });

  /** Counts the files opened through `fs.open` (what the driver's reads use) during `run`. */
  const countOpens = async (
    run: () => Promise<Buffer>,
  ): Promise<{ opens: number; value: string }> => {
    const real = fs.open;
    let opens = 0;
    fs.open = ((...args: Parameters<typeof fs.open>) => {
      opens++;
      return (real as (...a: unknown[]) => void)(...args);
    }) as typeof fs.open;
    try {
      return { value: (await run()).toString(), opens };
    } finally {
      fs.open = real;
    }
  };

  test('a settled small file is served from memory only while it is unchanged', async () => {
    const dir = join(root, 'kept');
    await mkdir(dir);
    const file = join(dir, 'link');
    const old = new Date(Date.now() - 3_600_000);
    // ctime cannot be set back: pretend the read happens an hour later instead.
    const later = Date.now() + 3_600_000;
    const realNow = Date.now;
    Date.now = () => later;
    try {
      await writeFile(file, 'sha256:one');
      assert.equal((await driver.getContent('/kept/link')).toString(), 'sha256:one');
      const opens = await countOpens(() => driver.getContent('/kept/link'));
      assert.deepEqual(opens, { opens: 0, value: 'sha256:one' });
      // Rewritten in place with the same length, as the Go registry writes links.
      await writeFile(file, 'sha256:two');
      assert.equal((await driver.getContent('/kept/link')).toString(), 'sha256:two');
      // Replaced by a rename, as Berth writes them.
      await writeFile(join(dir, 'next'), 'sha256:333');
      await rename(join(dir, 'next'), file);
      assert.equal((await driver.getContent('/kept/link')).toString(), 'sha256:333');
      // Times put back by hand still move ctime.
      await writeFile(file, 'sha256:444');
      await utimes(file, old, old);
      assert.equal((await driver.getContent('/kept/link')).toString(), 'sha256:444');
      await rm(file);
      await assert.rejects(driver.getContent('/kept/link'), PathNotFoundError);
    } finally {
      Date.now = realNow;
    }
  });

  test('a file changed within the settling time is read again every time', async () => {
    await driver.putContent('/fresh/link', 'sha256:aaa');
    assert.equal((await driver.getContent('/fresh/link')).toString(), 'sha256:aaa');
    // Same size, same inode, within the same clock tick: only a re-read can tell.
    await writeFile(join(root, 'fresh', 'link'), 'sha256:bbb');
    const opens = await countOpens(() => driver.getContent('/fresh/link'));
    assert.deepEqual(opens, { opens: 1, value: 'sha256:bbb' });
  });

  test('reads are large for few streams and shrink as more are open', () => {
    assert.equal(readChunkFor(0), 1 << 20);
    assert.equal(readChunkFor(7), 1 << 20);
    assert.equal(readChunkFor(15), 512 << 10);
    assert.equal(readChunkFor(63), 128 << 10);
    assert.equal(readChunkFor(10_000), 64 << 10);
  });

  test('the read size comes back up once streams are closed', async () => {
    await driver.putContent('/reads/blob', Buffer.alloc(4 << 20, 1));
    const streams = await Promise.all(
      Array.from({ length: 20 }, () => driver.reader('/reads/blob')),
    );
    assert.equal(streams.at(-1)?.readableHighWaterMark, 256 << 10);
    await Promise.all(
      streams.map((stream) => {
        const closed = once(stream, 'close');
        stream.destroy();
        return closed;
      }),
    );
    const again = await driver.reader('/reads/blob');
    assert.equal(again.readableHighWaterMark, 1 << 20);
    again.destroy();
  });

  test('a writer whose file was renamed away takes its write back and says so', async () => {
    const writer = await driver.writer('/moved/data', false);
    await writer.write(Buffer.from('first '));
    // Another process completes the upload: its bytes are renamed into the blob store.
    await rename(join(root, 'moved', 'data'), join(root, 'moved', 'claimed'));
    await assert.rejects(writer.write(Buffer.from('stray')), PathNotFoundError);
    assert.equal(await readFile(join(root, 'moved', 'claimed'), 'utf8'), 'first ');
    await writer.close();
  });

  test('files written straight to disk (as the reference registry does) are served', async () => {
    const dir = join(root, 'docker', 'registry', 'v2', 'repositories', 'lib', 'app');
    await mkdir(join(dir, '_layers'), { recursive: true });
    await writeFile(join(dir, 'tagfile'), 'abc');
    const base = '/docker/registry/v2/repositories/lib/app';
    assert.equal((await driver.getContent(`${base}/tagfile`)).toString(), 'abc');
    assert.deepEqual((await driver.list(base)).sort(), [`${base}/_layers`, `${base}/tagfile`]);
    assert.equal((await driver.stat(`${base}/_layers`)).isDir, true);
  });

  test('getContent reads files of every size around its first read, written outside Berth', async () => {
    const dir = join(root, 'sizes');
    await mkdir(dir, { recursive: true });
    for (const size of [0, 1, 8191, 8192, 16383, 16384, 16385, 32768, 300_001]) {
      const bytes = randomBytes(size);
      await writeFile(join(dir, `f${size}`), bytes);
      const read = await driver.getContent(`/sizes/f${size}`);
      assert.equal(read.length, size);
      assert.ok(read.equals(bytes), `content of a ${size}-byte file`);
    }
    await assert.rejects(driver.getContent('/sizes'), PathNotFoundError);
    await assert.rejects(driver.getContent('/sizes/none'), PathNotFoundError);
  });

  test('a reader over a directory is not found and leaves no descriptor open', async () => {
    await mkdir(join(root, 'adir'), { recursive: true });
    await writeFile(join(root, 'adir', 'one'), 'x');
    const before = (await readdir('/proc/self/fd')).length;
    for (let i = 0; i < 50; i++) {
      await assert.rejects(driver.reader('/adir'), PathNotFoundError);
      await assert.rejects(driver.reader('/adir/one', 5), InvalidOffsetError);
    }
    assert.ok((await readdir('/proc/self/fd')).length <= before + 2);
  });

  test('a failed putContent leaves no temp file behind', async () => {
    await driver.putContent('/fail/target/inner', 'x');
    // The target is a directory, so the final rename fails.
    await assert.rejects(driver.putContent('/fail/target', 'y'));
    assert.deepEqual(await readdir(join(root, 'fail')), ['target']);
  });

  test('list hides temp files of puts in flight', async () => {
    await mkdir(join(root, 'hide'), { recursive: true });
    await writeFile(join(root, 'hide', `${TEMP_PREFIX}0123`), 'partial');
    await writeFile(join(root, 'hide', 'real'), 'r');
    assert.deepEqual(await driver.list('/hide'), ['/hide/real']);
  });

  test('many more concurrent operations than maxthreads all complete', async () => {
    const paths = Array.from({ length: 400 }, (_, i) => `/gate/d${i % 7}/f${i}`);
    await Promise.all(paths.map((p) => driver.putContent(p, p)));
    const writers = await Promise.all(paths.slice(0, 50).map((p) => driver.writer(p, true)));
    await Promise.all(writers.map((w) => w.write(Buffer.from('+'))));
    await Promise.all(writers.map((w) => w.commit()));
    const got = await Promise.all(paths.map((p) => driver.getContent(p)));
    got.forEach((g, i) => assert.equal(g.toString(), `${paths[i] ?? ''}${i < 50 ? '+' : ''}`));
  });

  test('a writer refuses a write that overlaps the previous one', async () => {
    const w = await driver.writer('/overlap/data', false);
    const first = w.write(Buffer.alloc(1024, 1));
    await assert.rejects(w.write(Buffer.alloc(1, 2)), /during another operation/);
    await first;
    await w.commit();
    assert.equal((await driver.stat('/overlap/data')).size, 1024);
  });

  test('the constructor refuses a missing root and a maxthreads below 25 or fractional', () => {
    assert.throws(() => new FilesystemDriver({ rootdirectory: '' }), RangeError);
    assert.throws(() => new FilesystemDriver({ rootdirectory: root, maxthreads: 24 }), RangeError);
    const fractional = { rootdirectory: root, maxthreads: 30.5 };
    assert.throws(() => new FilesystemDriver(fractional), RangeError);
    assert.equal(new FilesystemDriver({ rootdirectory: root }).sharedAcrossThreads, true);
  });
});

test('filesystem listFrom streams a folder of 100 000 files with a flat heap', async (t) => {
  // On tmpfs when there is one: creating 100 000 files there takes 0.5 s instead of 5.
  const root = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'berth-drv-'));
  try {
    const d = new FilesystemDriver({ rootdirectory: root });
    const count = 100_000;
    await mkdir(join(root, 'scale'));
    for (let i = 0; i < count; i++) closeSync(openSync(join(root, 'scale', scaleName(i)), 'w'));
    const started = Date.now();
    const streamed = await listScaleFolder(d, '/scale', count);
    const took = Date.now() - started;
    const fromMiddle = await listScaleFolder(d, '/scale', count, 98_765);
    const whole = await listWholeFolder(d, '/scale');
    t.diagnostic(
      `heap growth: list ${whole} B, listFrom ${streamed} B (${took} ms), ` +
        `from near the end ${fromMiddle} B`,
    );
    assert.ok(whole > HEAP_LIMIT, 'holding every path shows above the limit');
    assert.ok(streamed < HEAP_LIMIT && fromMiddle < HEAP_LIMIT);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
