/**
 * A tag whose manifest's revision link is gone (a delete by digest racing a push can leave
 * one behind) names nothing: GET and HEAD answer 404 MANIFEST_UNKNOWN, as the reference
 * does, instead of serving a manifest its garbage collector would not keep.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeImage, startTestRegistry, type TestRegistry } from '../helpers/server.js';

let registry: TestRegistry;
before(async () => {
  registry = await startTestRegistry();
});
after(() => registry.stop());

test('a tag left without its revision link is not served', async () => {
  const image = await makeImage(registry.url, 'orphan/tag', 'v1');
  const url = `${registry.url}/v2/orphan/tag/manifests/v1`;
  assert.equal((await fetch(url, { method: 'HEAD' })).status, 200);
  const hex = image.manifestDigest.slice('sha256:'.length);
  const repo = join(registry.root, 'docker/registry/v2/repositories/orphan/tag');
  await rm(join(repo, '_manifests/revisions/sha256', hex), { recursive: true });
  const res = await fetch(url);
  assert.equal(res.status, 404);
  const body = (await res.json()) as { errors: { code: string }[] };
  assert.equal(body.errors[0]?.code, 'MANIFEST_UNKNOWN');
  assert.equal((await fetch(url, { method: 'HEAD' })).status, 404);
});
