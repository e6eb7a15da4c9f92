/**
 * A real S3 service for tests: Ceph's RADOS Gateway (Debian's `radosgw`) on a private
 * one-monitor, one-OSD cluster that keeps its objects in memory (`memstore`), with all its
 * files in one temporary directory and every daemon on 127.0.0.1. Also the Go reference
 * registry started on the same bucket, for layout interoperability tests.
 *
 * A missing Ceph binary is a failure naming the `apt-get` line, never a skip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from './ports.js';
import { stopChild, type RunningServer } from './registry.js';
import { requireTool, run } from './tools.js';
import { trackChild, trackDir, untrackDir } from './leftovers.js';
import { startGoRegistry } from './go-registry.js';

/** The Debian packages that provide the cluster's binaries. */
const CEPH_PACKAGES = 'radosgw ceph-mon ceph-osd ceph-common';

/** A running gateway and the credentials of its one user and bucket. */
export interface Radosgw {
  /** `http://127.0.0.1:PORT`. */
  endpoint: string;
  port: number;
  region: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  /** How long the cluster took to start, in milliseconds. */
  startupMs: number;
  /** s3 driver parameters for this gateway with the given `rootdirectory`. */
  params(rootdirectory: string): Record<string, unknown>;
  /** A client of the gateway, for what a test checks behind the driver's back. */
  client(): S3Client;
  /** The tail of the daemons' logs, for failure messages. */
  logs(): Promise<string>;
  /** Stops the daemons (by PID: SIGTERM, then SIGKILL) and removes the temporary directory. */
  stop(): Promise<void>;
}

function cephConf(dir: string, fsid: string, monPort: number, rgwPort: number): string {
  return `[global]
fsid = ${fsid}
mon host = v2:127.0.0.1:${monPort}
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
# With auth "none" only the crc connection mode exists; radosgw asks for "secure" otherwise.
ms mon client mode = crc
ms client mode = crc
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 1
osd pool default pgp num = 1
# Faster map updates and PG creation than a production cluster wants: the gateway creates
# its pools at start and waits for each to become active.
paxos propose interval = 0.01
paxos min wait = 0.001
mon tick interval = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
osd crush chooseleaf type = 0
run dir = ${dir}/run
admin socket = ${dir}/run/$name.$pid.asok
log file = ${dir}/log/$name.log
keyring = ${dir}/keyring
[mon]
mon data = ${dir}/mon/$name
[osd]
osd data = ${dir}/osd/$name
osd objectstore = memstore
memstore device bytes = 4294967296
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort}
rgw data = ${dir}/rgw
rgw thread pool size = 64
rgw enable usage log = false
`;
}

/** Spawns a daemon in the foreground (`-f`), so that its PID is the child's. */
function daemon(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { stdio: 'ignore' });
  trackChild(child);
  return child;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The status of `GET url`, or 0 when nothing answers yet. */
async function answers(url: string): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/**
 * Starts the cluster and the gateway, creates a user with fixed keys and one bucket.
 *
 * @throws Error with the `apt-get install` line when a Ceph binary is missing, or with the
 *   daemons' log tails when the gateway does not answer within 60 s.
 */
export async function startRadosgw(): Promise<Radosgw> {
  const began = Date.now();
  const tool = (name: string): string => requireTool(name, CEPH_PACKAGES);
  const bins = {
    mon: tool('ceph-mon'),
    osd: tool('ceph-osd'),
    rgw: tool('radosgw'),
    admin: tool('radosgw-admin'),
    ceph: tool('ceph'),
    monmaptool: tool('monmaptool'),
    authtool: tool('ceph-authtool'),
  };
  const dir = await mkdtemp(join(tmpdir(), 'berth-radosgw-'));
  trackDir(dir);
  const children: ChildProcess[] = [];
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      // The gateway first, the monitor last: each needs the ones after it to exit cleanly.
      for (const child of [...children].reverse()) await stopChild(child, 3_000);
      await rm(dir, { recursive: true, force: true });
      untrackDir(dir);
    })();
    return stopped;
  };
  const logs = async (): Promise<string> => {
    const parts: string[] = [];
    for (const name of ['mon.a', 'osd.0', 'client.rgw']) {
      const text = await readFile(join(dir, 'log', `${name}.log`), 'utf8').catch(() => '');
      parts.push(`--- ${name} ---\n${text.slice(-3000)}`);
    }
    return parts.join('\n');
  };

  try {
    const fsid = randomUUID();
    const [monPort, rgwPort] = [await freePort(), await freePort()];
    const conf = join(dir, 'ceph.conf');
    for (const sub of ['run', 'log', 'mon', 'osd/osd.0', 'rgw']) {
      await mkdir(join(dir, sub), { recursive: true });
    }
    await writeFile(conf, cephConf(dir, fsid, monPort, rgwPort));
    const c = ['-c', conf];

    // The monitor: a keyring (required even without auth), a monmap, its store.
    const keyring = join(dir, 'keyring');
    await run(bins.authtool, ['--create-keyring', keyring, '--gen-key', '-n', 'mon.']);
    const monmap = join(dir, 'monmap');
    const monAddr = `v2:127.0.0.1:${monPort}`;
    await run(bins.monmaptool, ['--create', '--add', 'a', monAddr, '--fsid', fsid, monmap]);
    await run(bins.mon, [...c, '--mkfs', '-i', 'a', '--monmap', monmap, '--keyring', keyring]);
    children.push(daemon(bins.mon, [...c, '-f', '-i', 'a']));

    // One OSD on memstore: registered with the monitor, then formatted and started.
    const osdUuid = randomUUID();
    const timeoutMs = 30_000;
    const id = (await run(bins.ceph, [...c, 'osd', 'new', osdUuid], { timeoutMs })).stdout.trim();
    await run(bins.osd, [...c, '--mkfs', '-i', id, '--osd-uuid', osdUuid], { timeoutMs });
    children.push(daemon(bins.osd, [...c, '-f', '-i', id]));

    // The gateway creates its pools on first start, which waits for the OSD to be up.
    const rgw = daemon(bins.rgw, [...c, '-f', '-n', 'client.rgw']);
    children.push(rgw);
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (rgw.exitCode !== null || rgw.signalCode !== null) {
        throw new Error(`radosgw exited (code ${String(rgw.exitCode)})`);
      }
      if ((await answers(endpoint)) === 200) break;
      if (Date.now() > deadline) throw new Error('radosgw did not answer within 60 s');
      await sleep(100);
    }

    const [accessKey, secretKey] = ['BERTHTESTACCESSKEY', 'berth-test-secret-key'];
    await run(bins.admin, [
      ...c,
      '-n',
      'client.rgw',
      'user',
      'create',
      '--uid=berth',
      '--display-name=Berth tests',
      `--access-key=${accessKey}`,
      `--secret-key=${secretKey}`,
    ]);
    const region = 'us-east-1';
    const bucket = 'berth-test';
    const client = (): S3Client =>
      new S3Client({
        region,
        endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
      });
    const admin = client();
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
    admin.destroy();

    return {
      endpoint,
      port: rgwPort,
      region,
      bucket,
      accessKey,
      secretKey,
      startupMs: Date.now() - began,
      params: (rootdirectory) => ({
        region,
        regionendpoint: endpoint,
        forcepathstyle: true,
        bucket,
        accesskey: accessKey,
        secretkey: secretKey,
        rootdirectory,
      }),
      client,
      logs,
      stop,
    };
  } catch (err) {
    const tail = await logs();
    await stop();
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`radosgw cluster failed to start: ${message}\n${tail}`, { cause: err });
  }
}

/**
 * Starts the Go reference registry (`docker-registry`, distribution 2.8) on the gateway's
 * bucket under `rootdirectory`, with redirects off so that it serves blobs itself. 2.8 has
 * no `forcepathstyle`: with a `regionendpoint` it always uses path-style addressing.
 */
export async function startGoRegistryOnS3(
  rgw: Radosgw,
  rootdirectory: string,
): Promise<RunningServer> {
  return startGoRegistry({
    root: rootdirectory,
    storage: [
      '  s3:',
      `    region: ${rgw.region}`,
      `    regionendpoint: ${rgw.endpoint}`,
      `    bucket: ${rgw.bucket}`,
      `    accesskey: ${rgw.accessKey}`,
      `    secretkey: ${rgw.secretKey}`,
      `    rootdirectory: ${JSON.stringify(rootdirectory)}`,
      '    secure: false',
      '    v4auth: true',
      '  redirect:',
      '    disable: true',
    ],
    // 2.8's AWS session panics when a custom CA bundle is set ("transport unsupported type").
    env: { AWS_CA_BUNDLE: '' },
  });
}
