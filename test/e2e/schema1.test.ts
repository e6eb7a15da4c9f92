/**
 * Docker schema 1 end to end with skopeo: a v2s1 push (skopeo converts and signs) into a
 * Berth with `compatibility.schema1.enabled`, and the image read back; and a schema 2 image
 * fetched with only a schema 1 Accept header, which Berth answers as the reference 3.x does.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startBerth } from '../helpers/berth.js';
import { describeImage } from '../helpers/images.js';
import type { RunningServer } from '../helpers/registry.js';
import { REGISTRY_FLAGS, skopeo } from '../helpers/skopeo.js';
import { requireTool, run } from '../helpers/tools.js';

/**
 * A two-layer image whose config has a history entry per layer: skopeo converts only such
 * images to schema 1, which keeps history and layers side by side (`fsLayers`, `history`).
 */
async function imageWithHistory(dir: string): Promise<string> {
  const umoci = requireTool('umoci', 'umoci');
  await run(umoci, ['init', '--layout', dir]);
  await run(umoci, ['new', '--image', `${dir}:v1`]);
  for (const name of ['one', 'two']) {
    const file = join(dir, `..`, `${name}.txt`);
    await writeFile(file, `${name} ${randomBytes(16).toString('hex')}\n`);
    await run(umoci, ['insert', '--image', `${dir}:v1`, file, `/${name}.txt`]);
  }
  return `oci:${dir}:v1`;
}

const signedType = 'application/vnd.docker.distribution.manifest.v1+prettyjws';
const schema2Type = 'application/vnd.docker.distribution.manifest.v2+json';

describe('Docker schema 1 with skopeo', { timeout: 300_000 }, () => {
  let server: RunningServer;
  let work = '';
  let source = '';

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-schema1-'));
    server = await startBerth({ extraConfig: 'compatibility:\n  schema1:\n    enabled: true' });
    source = await imageWithHistory(join(work, 'src'));
  });
  after(async () => {
    await server?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test('skopeo --format v2s1 pushes a signed schema 1 manifest that reads back whole', async () => {
    const remote = `docker://${server.hostPort}/old/app:v1`;
    await skopeo([
      'copy',
      '--quiet',
      '--dest-tls-verify=false',
      '--dest-no-creds',
      '--format',
      'v2s1',
      source,
      remote,
    ]);

    const res = await fetch(`${server.url}/v2/old/app/manifests/v1`, {
      headers: { Accept: signedType },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), signedType);
    const body = (await res.json()) as {
      schemaVersion: number;
      signatures?: unknown[];
      fsLayers: unknown[];
    };
    assert.equal(body.schemaVersion, 1);
    assert.ok((body.signatures?.length ?? 0) > 0, 'skopeo signs what it converts');

    const inspected = await skopeo(['inspect', ...REGISTRY_FLAGS, remote]);
    const { Layers } = JSON.parse(inspected.stdout) as { Layers: string[] };
    const original = await describeImage(source);
    const layers = (original.manifests[0]?.layers ?? []).map((l) => l.digest);
    assert.deepEqual([...Layers].sort(), [...layers].sort(), 'the same layers');

    const pulled = join(work, 'pulled');
    await skopeo([
      'copy',
      '--quiet',
      '--src-tls-verify=false',
      '--src-no-creds',
      remote,
      `dir:${pulled}`,
    ]);
    const files = await readdir(pulled);
    for (const layer of layers) assert.ok(files.includes(layer.slice('sha256:'.length)), layer);
  });

  test('a schema 2 image asked for with only a schema 1 Accept is returned as stored', async () => {
    // Without --preserve-digests, so skopeo converts the OCI image to Docker schema 2.
    const target = `docker://${server.hostPort}/new/app:v1`;
    await skopeo([
      'copy',
      '--quiet',
      '--dest-tls-verify=false',
      '--dest-no-creds',
      '--format',
      'v2s2',
      source,
      target,
    ]);
    const res = await fetch(`${server.url}/v2/new/app/manifests/v1`, {
      headers: { Accept: signedType },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), schema2Type);
  });
});
