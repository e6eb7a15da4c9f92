/**
 * End-to-end: three Berth processes share one S3 bucket (Ceph RGW), one `http.secret` and
 * one Redis blob descriptor cache behind Debian's nginx in plain round robin, without sticky
 * sessions, as they would run as replicas of one deployment. Pushes and pulls go through
 * nginx; one upload is walked by hand across the replicas; a delete on one replica is seen
 * by the others; one replica is killed in the middle of a push; the Go reference registry
 * then serves what the replicas wrote from the same bucket.
 *
 * Each replica is started by `startBerth`, which gives every process the same fixed secret:
 * that, and the shared storage, is what lets a replica continue another one's upload.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startBerth } from '../helpers/berth.js';
import { buildMultiLayerImage, describeImage, type LayoutImage } from '../helpers/images.js';
import { startNginx, type ProxiedRequest, type RunningNginx } from '../helpers/nginx.js';
import { startGoRegistryOnS3, startRadosgw, type Radosgw } from '../helpers/radosgw.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import type { RunningServer } from '../helpers/registry.js';
import { skopeoCopy } from '../helpers/skopeo.js';

const MiB = 1024 * 1024;
const TIMEOUT = 120_000;
/** Key prefix in the bucket shared by the replicas and, at the end, the Go registry. */
const ROOT = '/replicas';
/** The Go registry serves an OCI manifest only to a client that accepts the type. */
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const sha256 = (bytes: Uint8Array): string =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Bytes the process has written through `write` system calls so far (`wchar` of
 * `/proc/PID/io`): the gateway thread passing request bodies on, and the AWS SDK sending
 * parts to S3. The replica whose count climbs is receiving a layer. (`rchar` would miss
 * it without the gateway: uWebSockets.js reads with `recv`, which the kernel does not count.)
 */
async function bytesWritten(pid: number): Promise<number> {
  const io = await readFile(`/proc/${pid}/io`, 'utf8').catch(() => '');
  return Number(/^wchar:\s*(\d+)/m.exec(io)?.[1] ?? 0);
}

describe('three Berth replicas on one S3 bucket behind nginx round robin', () => {
  let rgw: Radosgw | undefined;
  let redis: RedisServer | undefined;
  let nginx: RunningNginx | undefined;
  let replicas: RunningServer[] = [];
  let work = '';
  /** Images pushed through nginx, for the Go registry to serve at the end. */
  const pushed = new Map<string, LayoutImage>();

  const proxy = (): RunningNginx => {
    assert.ok(nginx, 'nginx is running');
    return nginx;
  };
  const replica = (i: number): RunningServer => {
    const server = replicas[i];
    assert.ok(server, `replica ${i} is running`);
    return server;
  };
  const layout = (name: string): string => join(work, name);

  /** Everything the daemons said, for assertion messages. */
  const context = async (what: string): Promise<string> => {
    const parts = [
      what,
      ...replicas.map((r, i) => `--- replica ${i} ---\n${r.logs().slice(-3000)}`),
    ];
    if (nginx !== undefined) parts.push(await nginx.logs());
    return parts.join('\n');
  };

  let pulls = 0;
  /** Pulls `repoAndTag` from `hostPort` into a fresh OCI layout and describes it. */
  const pullFrom = async (hostPort: string, repoAndTag: string): Promise<LayoutImage> => {
    const ref = `oci:${layout(`pulled-${++pulls}`)}:pulled`;
    await skopeoCopy(`docker://${hostPort}/${repoAndTag}`, ref);
    return describeImage(ref);
  };

  const assertSameImage = (pulled: LayoutImage, source: LayoutImage): void => {
    assert.equal(pulled.digest, source.digest, 'digest of the pulled manifest');
    assert.deepEqual(pulled.blobs, source.blobs, 'digests of all blobs');
    assert.deepEqual(pulled.manifests, source.manifests, 'manifests, configs and layers');
  };

  /** `location` (which names the replica that answered it) sent to `server` instead. */
  const on = (server: RunningServer, location: string): URL => {
    const url = new URL(location, server.url);
    return new URL(`${url.pathname}${url.search}`, server.url);
  };

  /** `POST /v2/<name>/blobs/uploads/` on `server`; returns the upload's Location. */
  const startUpload = async (server: RunningServer, name: string): Promise<string> => {
    const res = await fetch(`${server.url}/v2/${name}/blobs/uploads/`, { method: 'POST' });
    await res.arrayBuffer();
    assert.equal(res.status, 202, await context(`POST on ${server.hostPort}: ${res.status}`));
    const location = res.headers.get('location');
    assert.ok(location !== null, 'POST answers with a Location');
    return location;
  };

  /** PATCHes `length` bytes of `data` from `start` to `server`; returns the next Location. */
  const sendChunk = async (
    server: RunningServer,
    location: string,
    data: Buffer,
    start: number,
    length: number,
  ): Promise<string> => {
    const res = await fetch(on(server, location), {
      method: 'PATCH',
      headers: {
        'content-type': 'application/octet-stream',
        'content-range': `${start}-${start + length - 1}`,
      },
      body: data.subarray(start, start + length),
    });
    await res.arrayBuffer();
    const what = `PATCH ${start}+${length} on ${server.hostPort}: ${res.status}`;
    assert.equal(res.status, 202, await context(what));
    assert.equal(res.headers.get('range'), `0-${start + length - 1}`, what);
    const next = res.headers.get('location');
    assert.ok(next !== null, 'PATCH answers with a Location');
    return next;
  };

  /** The `Range` of `GET <location>` (the upload's status) on `server`. */
  const uploadRange = async (server: RunningServer, location: string): Promise<string | null> => {
    const res = await fetch(on(server, location));
    await res.arrayBuffer();
    assert.equal(res.status, 204, await context(`GET upload status on ${server.hostPort}`));
    return res.headers.get('range');
  };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-e2e-replicas-'));
    rgw = await startRadosgw();
    const storage = [
      '  s3:',
      `    region: ${rgw.region}`,
      `    regionendpoint: ${rgw.endpoint}`,
      '    forcepathstyle: true',
      `    bucket: ${rgw.bucket}`,
      `    accesskey: ${rgw.accessKey}`,
      `    secretkey: ${rgw.secretKey}`,
      `    rootdirectory: ${ROOT}`,
      '    secure: false',
      // S3's smallest part, so that the 6 MiB chunks below each end inside a part.
      `    chunksize: ${5 * MiB}`,
      '  cache:',
      '    blobdescriptor: redis',
    ].join('\n');
    redis = await startRedis();
    const extraConfig = `redis:\n  addr: ${redis.addr}`;
    const started = await Promise.allSettled(
      [0, 1, 2].map(() => startBerth({ storage, extraConfig })),
    );
    replicas = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    nginx = await startNginx({ upstreams: replicas.map((r) => r.hostPort) });
  });

  after(async () => {
    await nginx?.stop();
    await Promise.all(replicas.map((r) => r.stop()));
    await redis?.stop();
    await rgw?.stop();
    if (work !== '') await rm(work, { recursive: true, force: true });
  });

  test(
    'an image pushed through nginx is served by all three replicas and pulls back identical',
    { timeout: TIMEOUT },
    async (t) => {
      const ref = await buildMultiLayerImage(layout('multi'), { layers: 4, bigLayerMiB: 24 });
      const source = await describeImage(ref);
      const began = Date.now();
      await skopeoCopy(ref, `docker://${proxy().hostPort}/replicas/multi:v1`);
      const pushMs = Date.now() - began;
      const pulled = await pullFrom(proxy().hostPort, 'replicas/multi:v1');
      assertSameImage(pulled, source);
      pushed.set('replicas/multi:v1', source);

      const requests = (await proxy().requests()).filter((r) => r.uri.startsWith('/v2/'));
      const served = new Set(requests.flatMap((r) => r.upstreams));
      assert.deepEqual(
        [...served].sort(),
        replicas.map((r) => r.hostPort).sort(),
        await context('every replica answered some of the requests'),
      );
      // A replica that dropped a kept-alive connection would show as a second one tried.
      assert.deepEqual(
        requests.filter((r) => r.upstreams.length > 1),
        [],
        await context('no request had to be tried on a second replica'),
      );
      // An upload's PATCH and PUT carry its id in the path; count those split over replicas.
      const byUpload = new Map<string, Set<string>>();
      for (const r of requests) {
        const id = /\/blobs\/uploads\/([^/?]+)/.exec(r.uri)?.[1];
        if (id === undefined) continue;
        const set = byUpload.get(id) ?? new Set<string>();
        r.upstreams.forEach((u) => set.add(u));
        byUpload.set(id, set);
      }
      const split = [...byUpload.values()].filter((s) => s.size > 1).length;
      const keys = (await redis?.client.dbsize()) ?? 0;
      t.diagnostic(
        `push of ${source.blobs.length} blobs took ${pushMs} ms; ${requests.length} requests ` +
          `through nginx; ${split} of ${byUpload.size} uploads continued on another replica; ` +
          `${keys} keys in the shared Redis cache`,
      );
    },
  );

  test(
    'an upload started on replica A takes chunks on B and C, reports them all on A, completes on B and reads from C',
    { timeout: TIMEOUT },
    async () => {
      const [a, b, c] = [replica(0), replica(1), replica(2)];
      const name = 'replicas/chunked';
      const data = randomBytes(12 * MiB);
      const digest = sha256(data);

      let location = await startUpload(a, name);
      location = await sendChunk(b, location, data, 0, 6 * MiB);
      const afterB = await uploadRange(a, location);
      location = await sendChunk(c, location, data, 6 * MiB, 6 * MiB);
      const afterC = await uploadRange(a, location);
      // Both are read before asserting, so that a failure shows how far behind each one was.
      assert.deepEqual(
        { afterB, afterC },
        { afterB: `0-${6 * MiB - 1}`, afterC: `0-${12 * MiB - 1}` },
        `Range of GET ${on(a, location).pathname} on ${a.hostPort}`,
      );

      const put = on(b, location);
      put.searchParams.set('digest', digest);
      const done = await fetch(put, { method: 'PUT' });
      await done.arrayBuffer();
      assert.equal(done.status, 201, await context(`PUT ?digest= on ${b.hostPort}`));
      assert.equal(done.headers.get('docker-content-digest'), digest);

      const blob = await fetch(`${c.url}/v2/${name}/blobs/${digest}`);
      const body = Buffer.from(await blob.arrayBuffer());
      assert.equal(blob.status, 200, await context(`GET blob on ${c.hostPort}`));
      assert.equal(body.length, data.length);
      assert.equal(sha256(body), digest, 'the blob read from C is the bytes sent to B and C');
    },
  );

  test(
    'a blob deleted through one replica is unknown to the two others at once',
    { timeout: TIMEOUT },
    async () => {
      assert.ok(redis, 'redis is running');
      const [a, b, c] = [replica(0), replica(1), replica(2)];
      const name = 'replicas/deleted';
      const data = randomBytes(64 * 1024);
      const digest = sha256(data);
      const blobOn = (server: RunningServer): string => `${server.url}/v2/${name}/blobs/${digest}`;
      const headOn = async (server: RunningServer): Promise<number> => {
        const res = await fetch(blobOn(server), { method: 'HEAD' }).catch((err: unknown) => {
          throw new Error(`HEAD blob on ${server.hostPort} failed`, { cause: err });
        });
        await res.arrayBuffer();
        return res.status;
      };
      const cache = redis.client;
      const linked = (): Promise<number> => cache.sismember(`repository::${name}::blobs`, digest);

      const put = await fetch(`${a.url}/v2/${name}/blobs/uploads/?digest=${digest}`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: data,
      });
      await put.arrayBuffer();
      assert.equal(put.status, 201, await context(`POST ?digest= on ${a.hostPort}`));
      // Both others look the blob up, so that the shared cache holds the link.
      assert.deepEqual([await headOn(b), await headOn(c)], [200, 200]);
      assert.equal(await linked(), 1, 'the shared cache holds the link');

      const del = await fetch(blobOn(a), { method: 'DELETE' });
      await del.arrayBuffer();
      assert.equal(del.status, 202, await context(`DELETE blob on ${a.hostPort}`));
      assert.equal(await linked(), 0, 'the delete removed the link from the shared cache');
      assert.deepEqual(
        [await headOn(b), await headOn(c)],
        [404, 404],
        await context('HEAD on B and C after the delete on A'),
      );
    },
  );

  test(
    'a push through nginx succeeds when the replica receiving its big layer is killed',
    { timeout: TIMEOUT },
    async (t) => {
      const ref = await buildMultiLayerImage(layout('kill'), { layers: 3, bigLayerMiB: 96 });
      const source = await describeImage(ref);
      const target = `docker://${proxy().hostPort}/replicas/kill:v1`;
      const seen = (await proxy().requests()).length;
      const baseline = await Promise.all(replicas.map((r) => bytesWritten(r.pid)));

      // skopeo retries what it judges transient, which a 502 is not; the second copy below
      // stands for the client running again.
      const copy = skopeoCopy(ref, target, ['--retry-times', '3']).then(
        () => undefined,
        (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
      );
      let victim: number | undefined;
      let settled = false;
      void copy.then(() => (settled = true));
      // 4 MiB written by one replica is more than all other blobs of the image together: that
      // replica is receiving the 96 MiB layer, far from its end.
      while (victim === undefined && !settled) {
        const now = await Promise.all(replicas.map((r) => bytesWritten(r.pid)));
        const i = now.findIndex((n, k) => n - (baseline[k] ?? 0) > 4 * MiB);
        if (i >= 0) victim = i;
        else await sleep(10);
      }
      assert.ok(victim !== undefined, await context('a replica was seen receiving the layer'));
      const dead = replica(victim);
      process.kill(dead.pid, 'SIGKILL');
      await dead.stop();

      const firstError = await copy;
      if (firstError !== undefined) {
        t.diagnostic(`skopeo gave up after the kill; rerunning the copy: ${firstError.message}`);
        await skopeoCopy(ref, target);
      }
      assertSameImage(await pullFrom(proxy().hostPort, 'replicas/kill:v1'), source);
      pushed.set('replicas/kill:v1', source);

      const later = (await proxy().requests()).slice(seen);
      const failed = later.filter((r) => r.status >= 500);
      assert.ok(
        failed.every((r) => r.upstreams.at(-1) === dead.hostPort),
        await context('every request that failed was one the killed replica held'),
      );
      const movedOn = later.filter((r) => r.upstreams.length > 1);
      const show = (r: ProxiedRequest): string =>
        `${r.method} ${r.status} via ${r.upstreams.join(' then ')}`;
      t.diagnostic(
        `killed replica ${victim} (${dead.hostPort}); failed: [${failed.map(show).join('; ')}]; ` +
          `moved on to another replica: [${movedOn.map(show).join('; ')}]; ` +
          (firstError === undefined
            ? 'the first skopeo run succeeded'
            : 'the rerun of skopeo succeeded'),
      );
    },
  );

  test(
    'the Go reference registry on the same bucket serves the images pushed through Berth',
    { timeout: TIMEOUT },
    async () => {
      assert.ok(rgw, 'radosgw is running');
      assert.ok(pushed.size > 0, 'an earlier test pushed an image through nginx');
      const go = await startGoRegistryOnS3(rgw, ROOT);
      try {
        for (const [repoAndTag, source] of pushed) {
          const [repo = '', tag = ''] = repoAndTag.split(':');
          const head = await fetch(`${go.url}/v2/${repo}/manifests/${tag}`, {
            method: 'HEAD',
            headers: { accept: OCI_MANIFEST },
          });
          assert.equal(head.status, 200, `HEAD ${repoAndTag} on the Go registry\n${go.logs()}`);
          assert.equal(head.headers.get('docker-content-digest'), source.digest);
          assertSameImage(await pullFrom(go.hostPort, repoAndTag), source);
        }
      } finally {
        await go.stop();
      }
    },
  );
});
