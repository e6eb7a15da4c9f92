/**
 * Requests racing on one upload session must never mix bytes: a retried PUT, a PATCH racing
 * the PUT that completes the upload, and two PATCHes of the same range.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestRegistry, type TestRegistry } from '../helpers/server.js';

const MiB = 1 << 20;
const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function start(reg: TestRegistry, repo: string): Promise<string> {
  const res = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  assert.equal(res.status, 202);
  return new URL(res.headers.get('location') ?? '', reg.url).toString();
}

function withParam(location: string, key: string, value: string): string {
  const url = new URL(location);
  url.searchParams.set(key, value);
  return url.toString();
}

describe('requests racing on one upload', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startTestRegistry();
  });
  after(() => reg?.stop());

  test('two identical PUTs with a body store the blob exactly once', async () => {
    for (let round = 0; round < 5; round++) {
      const body = randomBytes(3 * MiB);
      const digest = sha(body);
      const location = await start(reg, 'race/put');
      const put = () =>
        fetch(withParam(location, 'digest', digest), { method: 'PUT', body }).then(
          (r) => r.status,
          () => 0,
        );
      const statuses = (await Promise.all([put(), put()])).sort();
      assert.equal(statuses.filter((s) => s === 201).length, 1, `statuses ${statuses.join()}`);
      const stored = await readFile(
        join(
          reg.root,
          'docker/registry/v2/blobs/sha256',
          digest.slice(7, 9),
          digest.slice(7),
          'data',
        ),
      );
      assert.equal(sha(stored), digest, 'the stored bytes must hash to their digest');
    }
  });

  test('a PATCH racing the completing PUT never ends up inside the blob', async () => {
    for (let round = 0; round < 5; round++) {
      const first = randomBytes(2 * MiB);
      const extra = randomBytes(2 * MiB);
      const location = await start(reg, 'race/patch');
      const patched = await fetch(location, { method: 'PATCH', body: first });
      assert.equal(patched.status, 202);
      const next = new URL(patched.headers.get('location') ?? '', reg.url).toString();
      const digest = sha(first);
      const [put, patch] = await Promise.all([
        fetch(withParam(next, 'digest', digest), { method: 'PUT' }).then((r) => r.status),
        fetch(next, { method: 'PATCH', body: extra }).then(
          (r) => r.status,
          () => 0,
        ),
      ]);
      if (put === 201) {
        const blob = Buffer.from(
          await (await fetch(`${reg.url}/v2/race/patch/blobs/${digest}`)).arrayBuffer(),
        );
        assert.equal(sha(blob), digest);
        assert.notEqual(patch, 202, 'a PATCH after completion must not be accepted');
      }
    }
  });

  test('two PATCHes of the same range: one lands whole, the other changes nothing', async () => {
    const a = randomBytes(8 * MiB);
    const b = randomBytes(8 * MiB);
    const location = await start(reg, 'race/range');
    const patch = (body: Buffer) =>
      fetch(location, {
        method: 'PATCH',
        body,
        headers: { 'content-range': `0-${body.length - 1}` },
      }).then((r) => r.status);
    const [forA, forB] = await Promise.all([patch(a), patch(b)]);
    assert.deepEqual([forA, forB].sort(), [202, 416]);
    const status = await fetch(location);
    assert.equal(status.headers.get('range'), `0-${8 * MiB - 1}`);
    const winner = forA === 202 ? a : b;
    const done = await fetch(withParam(location, 'digest', sha(winner)), { method: 'PUT' });
    assert.equal(done.status, 201, 'the upload holds exactly the accepted body');
  });
});
