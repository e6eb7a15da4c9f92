/** The filesystem driver's read stream and its reuse of recycled chunks. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { canRecycle } from '../../src/drivers/driver.js';
import { FileReader, pooledBytes } from '../../src/drivers/filesystem/file-reader.js';

const CHUNK = 64 << 10;

describe('FileReader', () => {
  let dir = '';
  let file = '';
  const content = randomBytes(5 * CHUNK + 123);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-reader-'));
    file = join(dir, 'data');
    await writeFile(file, content);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** Reads a stream to its end, recycling every chunk after copying it when `recycle`. */
  async function drain(reader: FileReader, recycle: boolean): Promise<Buffer[]> {
    const copies: Buffer[] = [];
    for await (const chunk of reader as AsyncIterable<Buffer>) {
      copies.push(Buffer.from(chunk));
      if (recycle) reader.recycle(chunk);
    }
    return copies;
  }

  test('reads [start, end) in chunks of its size', async () => {
    const reader = new FileReader(fs.openSync(file, 'r'), 1000, 3 * CHUNK + 7, CHUNK);
    const chunks = await drain(reader, false);
    assert.deepEqual(Buffer.concat(chunks), content.subarray(1000, 3 * CHUNK + 7));
    assert.ok(chunks.every((c) => c.length <= CHUNK));
  });

  test('without an end it reads to the end of the file', async () => {
    const reader = new FileReader(fs.openSync(file, 'r'), 0, Infinity, CHUNK);
    assert.deepEqual(Buffer.concat(await drain(reader, false)), content);
  });

  test('a range past the end of the file ends early with what there is', async () => {
    const reader = new FileReader(fs.openSync(file, 'r'), content.length - 10, 1e9, CHUNK);
    assert.deepEqual(Buffer.concat(await drain(reader, false)), content.subarray(-10));
  });

  test('recycled chunks are read into again, and the bytes stay right', async () => {
    const seen = new Set<ArrayBufferLike>();
    let reused = 0;
    const reader = new FileReader(fs.openSync(file, 'r'), 0, Infinity, CHUNK);
    assert.ok(canRecycle(reader));
    const copies: Buffer[] = [];
    for await (const chunk of reader as AsyncIterable<Buffer>) {
      if (seen.has(chunk.buffer)) reused++;
      seen.add(chunk.buffer);
      copies.push(Buffer.from(chunk));
      reader.recycle(chunk);
    }
    assert.deepEqual(Buffer.concat(copies), content);
    // Six reads; with each chunk handed back, at most the read-ahead needs new memory.
    assert.ok(reused >= 3, `only ${reused} of ${copies.length} reads reused memory`);
  });

  test('a buffer no reader made is not taken', () => {
    const before = pooledBytes();
    const reader = new FileReader(fs.openSync(file, 'r'), 0, 0, CHUNK);
    reader.recycle(Buffer.allocUnsafeSlow(CHUNK));
    assert.equal(pooledBytes(), before);
    reader.destroy();
  });

  test('the same chunk handed back twice is pooled once', async () => {
    const reader = new FileReader(fs.openSync(file, 'r'), 0, CHUNK, CHUNK);
    const chunks: Buffer[] = [];
    for await (const chunk of reader as AsyncIterable<Buffer>) chunks.push(chunk);
    const [chunk] = chunks;
    assert.ok(chunk !== undefined);
    const before = pooledBytes();
    reader.recycle(chunk);
    reader.recycle(chunk);
    assert.ok(pooledBytes() - before <= CHUNK);
  });

  test('destroyed while a read is in flight, it closes its descriptor after the read', async () => {
    const fd = fs.openSync(file, 'r');
    const reader = new FileReader(fd, 0, Infinity, CHUNK);
    reader.resume();
    reader.destroy();
    await new Promise((resolve) => reader.once('close', resolve));
    assert.throws(() => fs.fstatSync(fd), { code: 'EBADF' });
  });

  test('a read error destroys the stream with it', async () => {
    const reader = new FileReader(fs.openSync(dir, 'r'), 0, Infinity, CHUNK);
    await assert.rejects(drain(reader, false), { code: 'EISDIR' });
  });
});
