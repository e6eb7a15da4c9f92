/**
 * Two registries on one filesystem root take turns on one upload: each checks what is
 * stored before it trusts the hash it kept, so a blob completes only under the digest of
 * the bytes stored (found by a fresh-eyes review: a kept hash once stored 8,001,000 bytes
 * under the digest of 8,000,000).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
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
