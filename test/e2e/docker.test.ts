/**
 * End-to-end: the Docker engine (Debian's dockerd 20.10, started privately by the test)
 * pushes to and pulls from the registry under test. The image is loaded into Docker from
 * a local archive, so no network is needed. If dockerd cannot run here the test fails with
 * the daemon's output; it is never skipped.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDockerd, type RunningDocker } from '../helpers/docker.js';
import { buildMultiLayerImage, DOCKER_MANIFEST, OCI_MANIFEST } from '../helpers/images.js';
import type { RunningServer } from '../helpers/registry.js';
import { skopeo } from '../helpers/skopeo.js';
import { describeExchange, httpGet, startTarget, targetLabel } from '../helpers/target.js';

const TIMEOUT = 300_000;

interface ImageInspect {
  Id: string;
  RepoDigests: string[];
  RepoTags: string[];
}

describe(`docker push and pull against ${targetLabel}`, () => {
  let work = '';
  let server: RunningServer | undefined;
  let daemon: RunningDocker | undefined;

  const docker = (args: string[]): ReturnType<RunningDocker['docker']> => {
    if (daemon === undefined) throw new Error('dockerd did not start');
    return daemon.docker(args);
  };
  const inspect = async (ref: string): Promise<ImageInspect> => {
    const { stdout } = await docker(['image', 'inspect', ref]);
    const list = JSON.parse(stdout) as ImageInspect[];
    assert.equal(list.length, 1);
    const first = list[0];
    assert.ok(first !== undefined);
    return first;
  };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-e2e-docker-'));
    // The registry comes first: dockerd needs its port for --insecure-registry.
    server = await startTarget();
    daemon = await startDockerd({ insecureRegistries: [server.hostPort] });
  });

  after(async () => {
    await daemon?.stop();
    await server?.stop();
    if (work !== '') await rm(work, { recursive: true, force: true });
  });

  test(
    'an image pushed by docker is pulled back with the same image id and repo digest',
    { timeout: TIMEOUT },
    async () => {
      assert.ok(server !== undefined);
      const ref = await buildMultiLayerImage(join(work, 'layout'), { layers: 3, bigLayerMiB: 4 });
      const archive = join(work, 'image.tar');
      await skopeo(['copy', '--quiet', ref, `docker-archive:${archive}:e2e/img:v1`]);
      await docker(['load', '-i', archive]);

      const remote = `${server.hostPort}/e2e/img:v1`;
      await docker(['tag', 'e2e/img:v1', remote]);
      const loaded = await inspect(remote);
      const pushed = await docker(['push', remote]);
      const match = /digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout);
      assert.ok(match?.[1] !== undefined, `no digest in docker push output:\n${pushed.stdout}`);
      const digest = match[1];

      const path = '/v2/e2e/img/manifests/v1';
      const got = await httpGet(server, path, { Accept: `${DOCKER_MANIFEST}, ${OCI_MANIFEST}` });
      const exchange = `${describeExchange('GET', path, got)}\n${server.logs()}`;
      assert.equal(got.status, 200, exchange);
      assert.equal(got.headers.get('content-type'), DOCKER_MANIFEST, exchange);
      assert.equal(got.headers.get('docker-content-digest'), digest, exchange);

      await docker(['rmi', remote, 'e2e/img:v1']);
      await assert.rejects(docker(['image', 'inspect', remote]), 'image is gone after rmi');

      await docker(['pull', remote]);
      const pulled = await inspect(remote);
      assert.equal(pulled.Id, loaded.Id, 'image id (config digest) after pull');
      assert.deepEqual(pulled.RepoDigests, [`${server.hostPort}/e2e/img@${digest}`]);

      await docker(['rmi', remote]);
      await docker(['pull', `${server.hostPort}/e2e/img@${digest}`]);
      assert.equal((await inspect(`${server.hostPort}/e2e/img@${digest}`)).Id, loaded.Id);
    },
  );
});
