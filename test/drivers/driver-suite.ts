/**
 * The behaviour every storage driver must show, run against each driver by its own test
 * file. Each test gets a fresh driver from `make` and cleans it up afterwards.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { Readable } from 'node:stream';
import type { StorageDriver } from '../../src/drivers/driver.js';
import {
  InvalidOffsetError,
  InvalidPathError,
  PathNotFoundError,
} from '../../src/drivers/driver.js';

/** What a driver test file hands the suite: a fresh driver and how to dispose of it. */
export interface DriverFixture {
  driver: StorageDriver;
  cleanup: () => Promise<void>;
}

/** All bytes of a stream, checking that it yields bytes (not objects). */
export async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) {
    assert.ok(Buffer.isBuffer(part), 'a reader stream yields Buffers');
    parts.push(part);
  }
  return Buffer.concat(parts);
}

/** Every path an async iterable yields, in order. */
export async function collect(paths: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const path of paths) out.push(path);
  return out;
}

/**
 * Registers, under `describe(name)`, the contract tests of `StorageDriver` against drivers
 * built by `make` (one per test).
 */
export function runDriverSuite(name: string, make: () => Promise<DriverFixture>): void {
  describe(`${name} storage driver`, () => {
    let fixture: DriverFixture | undefined;
    const drv = (): StorageDriver => {
      assert.ok(fixture, 'driver fixture is set up');
      return fixture.driver;
    };

    beforeEach(async () => {
      fixture = await make();
    });
    afterEach(async () => {
      await fixture?.cleanup();
      fixture = undefined;
    });

    test('putContent then getContent round-trips text, binary and empty content', async () => {
      const d = drv();
      await d.putContent('/a/b/text', 'hello, registry');
      assert.equal((await d.getContent('/a/b/text')).toString('utf8'), 'hello, registry');
      const bin = randomBytes(4096);
      await d.putContent('/a/b/bin', bin);
      assert.deepEqual(await d.getContent('/a/b/bin'), bin);
      await d.putContent('/a/empty', new Uint8Array(0));
      assert.equal((await d.getContent('/a/empty')).length, 0);
    });

    test('putContent replaces atomically, so concurrent readers see whole values', async () => {
      const d = drv();
      const path = '/atomic/x/link';
      // Distinct lengths and fill bytes, so a mix or a partial read cannot equal any value.
      const values = Array.from({ length: 60 }, (_, i) =>
        Buffer.alloc(1000 + i * 1021, (i % 250) + 1),
      );
      const byLength = new Map(values.map((v) => [v.length, v]));
      await d.putContent(path, values[0] ?? Buffer.alloc(0));
      let done = false;
      let reads = 0;
      const readLoop = async (): Promise<void> => {
        while (!done) {
          const got = await d.getContent(path);
          const expected = byLength.get(got.length);
          assert.ok(expected?.equals(got), `read a torn value of ${got.length} bytes`);
          reads++;
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      };
      const writeLoop = async (): Promise<void> => {
        for (let round = 0; round < 3; round++) {
          for (const value of values) {
            if (done) return;
            await d.putContent(path, value);
          }
        }
      };
      // Any failure stops every loop, and all settle before cleanup removes the driver.
      const stopOnExit = (loop: Promise<void>): Promise<void> =>
        loop.finally(() => {
          done = true;
        });
      const loops = [writeLoop(), readLoop(), readLoop(), readLoop(), readLoop()];
      const results = await Promise.allSettled(loops.map(stopOnExit));
      for (const result of results) {
        if (result.status === 'rejected') throw result.reason;
      }
      assert.ok(reads > 0);
    });

    test('getContent of a missing path or a directory throws PathNotFoundError', async () => {
      const d = drv();
      await assert.rejects(d.getContent('/nope'), PathNotFoundError);
      await d.putContent('/dir/file', 'x');
      await assert.rejects(d.getContent('/dir'), PathNotFoundError);
      await assert.rejects(d.getContent('/dir/file/under'), PathNotFoundError);
    });

    test('reader streams all or [start, end), empty at the size, refused past it', async () => {
      const d = drv();
      const data = Buffer.from('0123456789abcdef');
      await d.putContent('/r/f', data);
      assert.deepEqual(await readAll(await d.reader('/r/f')), data);
      assert.deepEqual(await readAll(await d.reader('/r/f', 4)), data.subarray(4));
      assert.deepEqual(await readAll(await d.reader('/r/f', 4, 10)), data.subarray(4, 10));
      assert.deepEqual(await readAll(await d.reader('/r/f', 0, 1)), data.subarray(0, 1));
      assert.deepEqual(await readAll(await d.reader('/r/f', 10, 99)), data.subarray(10));
      assert.equal((await readAll(await d.reader('/r/f', 5, 5))).length, 0);
      assert.equal((await readAll(await d.reader('/r/f', data.length))).length, 0);
      await assert.rejects(d.reader('/r/f', data.length + 1), InvalidOffsetError);
      await assert.rejects(d.reader('/r/missing'), PathNotFoundError);
      await assert.rejects(d.reader('/r'), PathNotFoundError);
    });

    test('a writer reopened with append keeps the size and content of the one before', async () => {
      const d = drv();
      const first = await d.writer('/up/data', true);
      assert.equal(first.size, 0);
      await first.write(Buffer.from('hello '));
      assert.equal(first.size, 6);
      await first.close();
      const second = await d.writer('/up/data', true);
      assert.equal(second.size, 6);
      await second.write(Buffer.from('world'));
      assert.equal(second.size, 11);
      await second.commit();
      assert.equal((await d.getContent('/up/data')).toString(), 'hello world');
      assert.equal((await d.stat('/up/data')).size, 11);
    });

    test('a writer opened without append truncates the file', async () => {
      const d = drv();
      await d.putContent('/t/f', 'old content that is long');
      const w = await d.writer('/t/f', false);
      assert.equal(w.size, 0);
      await w.write(Buffer.from('new'));
      await w.commit();
      assert.equal((await d.getContent('/t/f')).toString(), 'new');
    });

    test('written bytes are visible as they are written and readable after commit', async () => {
      const d = drv();
      const w = await d.writer('/c/f', false);
      const chunk = new Uint8Array([1, 2, 3, 4]);
      await w.write(chunk);
      chunk.fill(9); // the writer must have taken the bytes, not kept the caller's buffer
      assert.equal((await d.stat('/c/f')).size, 4);
      await w.write(new Uint8Array([5]));
      await w.commit();
      await w.close(); // closing after commit is harmless
      assert.deepEqual(await d.getContent('/c/f'), Buffer.from([1, 2, 3, 4, 5]));
      await assert.rejects(w.write(new Uint8Array([6])));
    });

    test('cancel closes the writer and removes the file', async () => {
      const d = drv();
      const w = await d.writer('/x/upload/data', false);
      await w.write(Buffer.from('partial'));
      await w.cancel();
      await assert.rejects(d.stat('/x/upload/data'), PathNotFoundError);
      await assert.rejects(d.getContent('/x/upload/data'), PathNotFoundError);
    });

    test('stat reports files, directories (size 0) and the root, refuses missing', async () => {
      const d = drv();
      const before = Date.now();
      await d.putContent('/s/dir/file', '12345');
      const file = await d.stat('/s/dir/file');
      assert.deepEqual(
        { path: file.path, size: file.size, isDir: file.isDir },
        { path: '/s/dir/file', size: 5, isDir: false },
      );
      assert.ok(file.modTime instanceof Date);
      assert.ok(file.modTime.getTime() >= before - 2000);
      const dir = await d.stat('/s/dir');
      assert.deepEqual({ size: dir.size, isDir: dir.isDir }, { size: 0, isDir: true });
      assert.equal((await d.stat('/')).isDir, true);
      await assert.rejects(d.stat('/s/missing'), PathNotFoundError);
      await assert.rejects(d.stat('/s/dir/file/under'), PathNotFoundError);
    });

    test('list gives full paths of child files and directories, refuses the rest', async () => {
      const d = drv();
      await d.putContent('/l/a', '1');
      await d.putContent('/l/b/c', '2');
      await d.putContent('/l/d/e/f', '3');
      assert.deepEqual((await d.list('/l')).sort(), ['/l/a', '/l/b', '/l/d']);
      assert.deepEqual(await d.list('/l/d'), ['/l/d/e']);
      assert.ok((await d.list('/')).includes('/l'));
      await assert.rejects(d.list('/l/missing'), PathNotFoundError);
      await assert.rejects(d.list('/l/a'), PathNotFoundError);
    });

    test('listFrom yields children in name order, folders of folders too', async () => {
      const d = drv();
      // `-` and `.` sort before `/`: a folder `a` must still come before `a-b` and `a.c`.
      for (const path of ['/lf/c', '/lf/a-b', '/lf/a/x/y', '/lf/a.c/d', '/lf/a0', '/lf/b']) {
        await d.putContent(path, 'x');
      }
      const all = ['/lf/a', '/lf/a-b', '/lf/a.c', '/lf/a0', '/lf/b', '/lf/c'];
      assert.deepEqual(await collect(d.listFrom('/lf')), all);
      assert.deepEqual((await d.list('/lf')).sort(), all);
      assert.deepEqual(await collect(d.listFrom('/lf/a')), ['/lf/a/x']);
      assert.deepEqual(await collect(d.listFrom('/lf/a/x')), ['/lf/a/x/y']);
      assert.ok((await collect(d.listFrom('/'))).includes('/lf'));
    });

    test('listFrom starts strictly after startAfter, which need not exist', async () => {
      const d = drv();
      for (const path of ['/sa/c', '/sa/a-b', '/sa/a/x/y', '/sa/a.c/d', '/sa/a0', '/sa/b']) {
        await d.putContent(path, 'x');
      }
      const from = (after: string): Promise<string[]> => collect(d.listFrom('/sa', after));
      assert.deepEqual(await from('a'), ['/sa/a-b', '/sa/a.c', '/sa/a0', '/sa/b', '/sa/c']);
      assert.deepEqual(await from('a-'), ['/sa/a-b', '/sa/a.c', '/sa/a0', '/sa/b', '/sa/c']);
      assert.deepEqual(await from('a-b'), ['/sa/a.c', '/sa/a0', '/sa/b', '/sa/c']);
      assert.deepEqual(await from('a0'), ['/sa/b', '/sa/c']);
      assert.deepEqual(await from('B'), [
        '/sa/a',
        '/sa/a-b',
        '/sa/a.c',
        '/sa/a0',
        '/sa/b',
        '/sa/c',
      ]);
      assert.deepEqual(await from('c'), []);
      assert.deepEqual(await from('zzz'), []);
      assert.deepEqual(await from(''), await collect(d.listFrom('/sa')));
    });

    test('listFrom of a missing folder or a file throws PathNotFoundError as list does', async () => {
      const d = drv();
      await d.putContent('/nf/file', 'x');
      await assert.rejects(collect(d.listFrom('/nf/missing')), PathNotFoundError);
      await assert.rejects(collect(d.listFrom('/nf/missing', 'a')), PathNotFoundError);
      await assert.rejects(collect(d.listFrom('/nf/file')), PathNotFoundError);
      await assert.rejects(collect(d.listFrom('/nf/file', 'a')), PathNotFoundError);
      await assert.rejects(collect(d.listFrom('/nf', 'a/b')), InvalidPathError);
    });

    test('listFrom may stop early, and sees each child once while children are deleted', async () => {
      const d = drv();
      const names = Array.from({ length: 40 }, (_, i) => `/it/f${String(i).padStart(2, '0')}`);
      await Promise.all(names.map((path) => d.putContent(path, 'x')));
      const firstTwo: string[] = [];
      for await (const path of d.listFrom('/it')) {
        firstTwo.push(path);
        if (firstTwo.length === 2) break;
      }
      assert.deepEqual(firstTwo, names.slice(0, 2));
      await d.putContent('/it/keep', 'k');
      const seen: string[] = [];
      for await (const path of d.listFrom('/it')) {
        seen.push(path);
        if (path !== '/it/keep') await d.delete(path);
      }
      assert.deepEqual(seen, [...names, '/it/keep']);
      assert.deepEqual(await collect(d.listFrom('/it')), ['/it/keep']);
    });

    test('move replaces the destination, creates its parents, refuses no source', async () => {
      const d = drv();
      await d.putContent('/m/src', 'new');
      await d.putContent('/m/dst', 'old');
      await d.move('/m/src', '/m/dst');
      assert.equal((await d.getContent('/m/dst')).toString(), 'new');
      await assert.rejects(d.stat('/m/src'), PathNotFoundError);
      await d.move('/m/dst', '/m/deep/er/place');
      assert.equal((await d.getContent('/m/deep/er/place')).toString(), 'new');
      await assert.rejects(d.move('/m/none', '/m/other'), PathNotFoundError);
      await assert.rejects(d.stat('/m/other'), PathNotFoundError);
    });

    test('delete removes a file, a whole tree, and refuses a missing path', async () => {
      const d = drv();
      await d.putContent('/del/keep', 'k');
      await d.putContent('/del/file', 'f');
      await d.putContent('/del/tree/a/b', '1');
      await d.putContent('/del/tree/c', '2');
      await d.delete('/del/file');
      await assert.rejects(d.stat('/del/file'), PathNotFoundError);
      await d.delete('/del/tree');
      await assert.rejects(d.stat('/del/tree'), PathNotFoundError);
      await assert.rejects(d.getContent('/del/tree/a/b'), PathNotFoundError);
      assert.deepEqual(await d.list('/del'), ['/del/keep']);
      await assert.rejects(d.delete('/del/missing'), PathNotFoundError);
    });

    test('every method refuses relative, empty, . and .. paths with InvalidPathError', async () => {
      const d = drv();
      await d.putContent('/ok', 'x');
      for (const bad of ['/a/../b', 'a/b', '/a//b', '/a/./b', '/a/', '', '/..', '/a/b c']) {
        const calls: Array<[string, () => Promise<unknown>]> = [
          ['getContent', () => d.getContent(bad)],
          ['putContent', () => d.putContent(bad, 'x')],
          ['reader', () => d.reader(bad)],
          ['writer', () => d.writer(bad, true)],
          ['stat', () => d.stat(bad)],
          ['list', () => d.list(bad)],
          ['listFrom', () => collect(d.listFrom(bad))],
          ['move from', () => d.move(bad, '/ok2')],
          ['move to', () => d.move('/ok', bad)],
          ['delete', () => d.delete(bad)],
          ['redirectURL', () => d.redirectURL('GET', bad)],
        ];
        for (const [method, call] of calls) {
          await assert.rejects(call(), InvalidPathError, `${method}(${JSON.stringify(bad)})`);
        }
      }
      assert.equal((await d.getContent('/ok')).toString(), 'x');
      assert.equal(await d.redirectURL('GET', '/ok'), null);
    });

    test('many concurrent putContent calls to distinct paths all land', async () => {
      const d = drv();
      const paths = Array.from({ length: 300 }, (_, i) => `/conc/d${i % 10}/e${i % 3}/f${i}`);
      await Promise.all(paths.map((p) => d.putContent(p, p)));
      const contents = await Promise.all(paths.map((p) => d.getContent(p)));
      contents.forEach((c, i) => assert.equal(c.toString(), paths[i]));
      assert.equal((await d.list('/conc')).length, 10);
    });

    test('a 10 MiB upload written in 64 KiB chunks reads back with the same sha256', async () => {
      const d = drv();
      const total = 10 * 1024 * 1024;
      const chunkSize = 64 * 1024;
      const source = randomBytes(total);
      const w = await d.writer('/big/data', false);
      const chunk = Buffer.alloc(chunkSize); // reused, as an HTTP layer would
      for (let at = 0; at < total; at += chunkSize) {
        source.copy(chunk, 0, at, at + chunkSize);
        await w.write(chunk);
      }
      assert.equal(w.size, total);
      await w.commit();
      assert.equal((await d.stat('/big/data')).size, total);
      const want = createHash('sha256').update(source).digest('hex');
      const hash = createHash('sha256');
      for await (const part of await d.reader('/big/data')) hash.update(part as Buffer);
      assert.equal(hash.digest('hex'), want);
      const tail = await readAll(await d.reader('/big/data', total - 100_000, total - 5));
      assert.deepEqual(tail, source.subarray(total - 100_000, total - 5));
    });
  });
}
