/**
 * Many uploads at once share the worker pool's batch budget (src/workers/pool.ts): every
 * one completes with its own bytes, none waits forever on the others.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { batchBudget } from '../../src/workers/pool.js';
import { sha256, startTestRegistry, type TestRegistry } from '../helpers/server.js';

let registry: TestRegistry;
before(async () => {
  registry = await startTestRegistry();
});
after(() => registry.stop());

test('more concurrent uploads than the batch budget all store their own bytes', async () => {
  const count = batchBudget + 16;
  const blobs = Array.from({ length: count }, () => randomBytes(3 * 1024 * 1024 + 17));
  const statuses = await Promise.all(
    blobs.map(async (blob) => {
      const url = `${registry.url}/v2/budget/repo/blobs/uploads/?digest=${sha256(blob)}`;
      const res = await fetch(url, { method: 'POST', body: blob });
      await res.arrayBuffer();
      return res.status;
    }),
  );
  assert.deepEqual(statuses, Array(count).fill(201));
  for (const blob of blobs.slice(0, 4)) {
    const res = await fetch(`${registry.url}/v2/budget/repo/blobs/${sha256(blob)}`);
    assert.equal(sha256(Buffer.from(await res.arrayBuffer())), sha256(blob));
  }
});
