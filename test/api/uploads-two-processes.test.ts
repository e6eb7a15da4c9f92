/**
 * Two registries on one filesystem root take turns on one upload: each checks what is
 * stored before it trusts the hash it kept, so a blob completes only under the digest of
 * the bytes stored (found by a fresh-eyes review: a kept hash once stored 8,001,000 bytes
 * under the digest of 8,000,000).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openFilesUnder } from '../helpers/open-files.js';
import { sha256, startTestRegistry, type TestRegistry } from '../helpers/server.js';

let a: TestRegistry;
let b: TestRegistry;
before(async () => {
  a = await startTestRegistry();
  b = await startTestRegistry({ root: a.root });
});
after(async () => {
  await b.stop();
  await a.stop();
});

/** `location` (absolute, or a path and query) sent to `registry` instead. */
const on = (registry: TestRegistry, location: string): string => {
  const url = new URL(location, registry.url);
  url.host = new URL(registry.url).host;
  return url.href;
};

async function send(
  url: string,
  method: string,
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; location: string }> {
  const res = await fetch(url, { method, body, headers });
  await res.arrayBuffer();
  return { status: res.status, location: res.headers.get('location') ?? '' };
}

const patch = (url: string, bytes: Buffer, from: number): ReturnType<typeof send> =>
  send(url, 'PATCH', bytes, { 'Content-Range': `${from}-${from + bytes.length - 1}` });

test('an upload patched by one process, then the other, completes on the first', async () => {
  const first = randomBytes(3 * 1024 * 1024 + 5);
  const second = randomBytes(2 * 1024 * 1024 + 9);
  const whole = Buffer.concat([first, second]);
  const started = await send(`${a.url}/v2/two/procs/blobs/uploads/`, 'POST');
  const p1 = await patch(on(a, started.location), first, 0);
  assert.equal(p1.status, 202);
  const p2 = await patch(on(b, p1.location), second, first.length);
  assert.equal(p2.status, 202);
  const url = new URL(on(a, p2.location));
  url.searchParams.set('digest', sha256(whole));
  assert.equal((await send(url.href, 'PUT')).status, 201);
  const res = await fetch(`${b.url}/v2/two/procs/blobs/${sha256(whole)}`);
  assert.equal(sha256(Buffer.from(await res.arrayBuffer())), sha256(whole));
});

test('a PUT naming the digest of fewer bytes than another process stored is refused', async () => {
  const first = randomBytes(2 * 1024 * 1024 + 1);
  const more = randomBytes(1000);
  const started = await send(`${a.url}/v2/two/procs/blobs/uploads/`, 'POST');
  const p1 = await patch(on(a, started.location), first, 0);
  assert.equal((await patch(on(b, p1.location), more, first.length)).status, 202);
  // The first process's Location from before the other's PATCH, with the shorter digest.
  const url = new URL(on(a, p1.location));
  url.searchParams.set('digest', sha256(first));
  const put = await send(url.href, 'PUT');
  assert.notEqual(put.status, 201);
  const res = await fetch(`${a.url}/v2/two/procs/blobs/${sha256(first)}`, { method: 'HEAD' });
  assert.equal(res.status, 404);
});

test('a PATCH refused by the worker for its offset leaves no upload file open', async () => {
  const bytes = randomBytes(1024 * 1024 + 7);
  const started = await send(`${a.url}/v2/two/refused/blobs/uploads/`, 'POST');
  const p1 = await patch(on(a, started.location), bytes, 0);
  assert.equal(p1.status, 202);
  // The same chunk again: the worker finds the upload past offset 0 and refuses it (416).
  assert.equal((await patch(on(a, p1.location), bytes, 0)).status, 416);
  // Resent to the Location it first went to, without Content-Range: the token's offset.
  const resent = await send(on(a, started.location), 'PATCH', bytes);
  assert.equal(resent.status, 400);
  assert.deepEqual(await openFilesUnder(a.root), []);
});

test('PUTs of one upload racing on both processes store only the bytes of the digest', async () => {
  for (let round = 0; round < 6; round++) {
    const first = randomBytes(2 * 1024 * 1024);
    const last = randomBytes(1024 * 1024);
    const digest = sha256(Buffer.concat([first, last]));
    const started = await send(`${a.url}/v2/two/race/blobs/uploads/`, 'POST');
    const p1 = await patch(on(a, started.location), first, 0);
    const put = (registry: TestRegistry): ReturnType<typeof send> => {
      const url = new URL(on(registry, p1.location));
      url.searchParams.set('digest', digest);
      return send(url.href, 'PUT', last);
    };
    const statuses = (await Promise.all([put(a), put(b)])).map((r) => r.status);
    assert.ok(
      statuses.filter((s) => s === 201).length <= 1,
      `round ${round}: ${statuses.join(', ')}`,
    );
    for (const registry of [a, b]) {
      const res = await fetch(`${registry.url}/v2/two/race/blobs/${digest}`);
      if (res.status === 404) continue;
      assert.equal(sha256(Buffer.from(await res.arrayBuffer())), digest, `round ${round}`);
    }
  }
});

test('a racing completion never replaces a blob already stored', async () => {
  const first = randomBytes(2 * 1024 * 1024);
  const good = randomBytes(1024 * 1024);
  const whole = Buffer.concat([first, good]);
  const digest = sha256(whole);
  const stored = await send(`${a.url}/v2/two/other/blobs/uploads/?digest=${digest}`, 'POST', whole);
  assert.equal(stored.status, 201);
  for (let round = 0; round < 4; round++) {
    const started = await send(`${a.url}/v2/two/race2/blobs/uploads/`, 'POST');
    const p1 = await patch(on(a, started.location), first, 0);
    const put = (registry: TestRegistry, last: Buffer): ReturnType<typeof send> => {
      const url = new URL(on(registry, p1.location));
      url.searchParams.set('digest', digest);
      return send(url.href, 'PUT', last);
    };
    await Promise.all([put(a, good), put(b, randomBytes(1024 * 1024))]);
    const blob = join(
      a.root,
      'docker/registry/v2/blobs/sha256',
      digest.slice(7, 9),
      digest.slice(7),
    );
    assert.equal(sha256(await readFile(join(blob, 'data'))), digest, `round ${round}`);
  }
});

test('no upload file stays open once requests on either process are done', async () => {
  for (let round = 0; round < 5; round++) {
    const bytes = randomBytes(1024 * 1024 + 3);
    const started = await send(`${a.url}/v2/two/fds/blobs/uploads/`, 'POST');
    const p1 = await patch(on(a, started.location), bytes, 0);
    const url = new URL(on(b, p1.location));
    if (round % 2 === 0) {
      url.searchParams.set('digest', sha256(bytes));
      assert.equal((await send(url.href, 'PUT')).status, 201);
    } else {
      assert.equal((await send(url.href, 'DELETE')).status, 204);
    }
  }
  assert.deepEqual(await openFilesUnder(a.root), []);
});
