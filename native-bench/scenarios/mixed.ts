/**
 * Mixed loads: a CI push storm, and manifest GET latency while large uploads run.
 */
import { randomBytes } from 'node:crypto';
import {
  BlobFactory,
  describe,
  FULL_ACCEPT,
  imageConfig,
  OCI_CONFIG,
  OCI_LAYER,
  ociManifest,
  type Blob,
} from '../lib/blobs.js';
import { fromWrk, noteRetries, type CellSpec, type Measured } from '../lib/cells.js';
import { HttpClient, pushBlobLikeDocker, putManifest, uploadTwoStep } from '../lib/client.js';
import { StoredBlobs, type BenchContext, type Group } from '../lib/context.js';
import { closedLoop, median } from '../lib/load.js';
import type { Server } from '../lib/servers.js';
import { runWrk } from '../lib/wrk.js';

const MiB = 1024 * 1024;
const STORM_CLIENTS = 32;
const LAYERS_PER_IMAGE = 5;
/** Sixteen layer sizes from 1 MiB to 4 MiB; each image draws five of them. */
const LAYER_SIZES = Array.from({ length: 16 }, (_, k) => MiB + Math.round((k * 3 * MiB) / 15));

let storms = 0;
const stored = new StoredBlobs();
const dropStored = (server: Server): Promise<void> => stored.drop(server);

/** One storm: every client pushes one fresh image (blobs as Docker does, then manifest). */
async function storm(
  server: Server,
  factories: BlobFactory[],
): Promise<{ bytes: number; retries: number; freshRetries: number }> {
  storms += 1;
  const client = new HttpClient(server.baseUrl, STORM_CLIENTS);
  let bytes = 0;
  try {
    const push = async (w: number): Promise<void> => {
      const layers: Blob[] = [];
      for (let i = 0; i < LAYERS_PER_IMAGE; i++) {
        const f = factories[Math.floor(Math.random() * factories.length)];
        if (f !== undefined) layers.push(f.next());
      }
      const config = imageConfig(`storm-${storms}-${w}`, layers);
      const repo = `storm/client-${w}`;
      for (const blob of [...layers, config]) {
        if (await pushBlobLikeDocker(client, repo, blob)) bytes += blob.size;
        stored.add(server, blob.digest);
      }
      const manifest = ociManifest(
        describe(config, OCI_CONFIG),
        layers.map((l) => describe(l, OCI_LAYER)),
      );
      await putManifest(client, repo, `build-${storms}`, manifest);
    };
    await Promise.all(Array.from({ length: STORM_CLIENTS }, (_, w) => push(w)));
    return { bytes, retries: client.retries, freshRetries: client.freshRetries };
  } finally {
    client.close();
  }
}

async function stormCell(
  ctx: BenchContext,
  server: Server,
  factories: BlobFactory[],
): Promise<Measured> {
  const walls: number[] = [];
  let bytes = 0;
  const retries = { retries: 0, freshRetries: 0 };
  let errors = 0;
  let note: string | undefined;
  const start = performance.now();
  // At least one storm; more while the cell's duration lasts (at most five).
  while (
    walls.length === 0 ||
    (performance.now() - start < ctx.durationS * 1000 && walls.length < 5)
  ) {
    const t0 = performance.now();
    try {
      const r = await storm(server, factories);
      bytes += r.bytes;
      retries.retries += r.retries;
      retries.freshRetries += r.freshRetries;
    } catch (err) {
      errors += 1;
      note ??= err instanceof Error ? err.message : String(err);
      break;
    }
    walls.push((performance.now() - t0) / 1000);
  }
  const total = walls.reduce((a, b) => a + b, 0);
  const images = walls.length * STORM_CLIENTS;
  const m: Measured = {
    figures: {
      imagesps: total > 0 ? images / total : null,
      wallS: median(walls),
      mbps: total > 0 ? bytes / total / 1e6 : null,
    },
    ops: images,
    bytes,
    errors,
  };
  if (note !== undefined) m.note = note;
  return noteRetries(m, retries);
}

async function underLoadCell(
  ctx: BenchContext,
  server: Server,
  probePath: string,
  factory: BlobFactory,
): Promise<Measured> {
  const client = new HttpClient(server.baseUrl, 4);
  try {
    const uploads = closedLoop(
      { concurrency: 4, durationMs: (ctx.durationS + 0.5) * 1000, maxOps: 32 },
      async () => {
        const blob = factory.next();
        await uploadTwoStep(client, 'bench/under-load', blob);
        stored.add(server, blob.digest);
        return blob.size;
      },
    );
    await new Promise((r) => setTimeout(r, 500));
    const probe = await runWrk({
      baseUrl: server.baseUrl,
      paths: [probePath],
      connections: 4,
      durationS: ctx.durationS,
      delayMs: 5,
      headers: { Accept: FULL_ACCEPT },
      scriptDir: ctx.workDir,
    });
    const up = await uploads;
    const m = fromWrk(probe);
    m.figures = {
      p50: m.figures.p50 ?? null,
      p99: m.figures.p99 ?? null,
      reqps: m.figures.reqps ?? null,
      uploadMBps: up.bytes / up.elapsedS / 1e6,
    };
    m.ops = 0;
    m.bytes = up.bytes;
    if (up.firstError !== undefined) {
      m.note = `uploads: ${up.errors} errors, first: ${up.firstError}`;
    }
    return noteRetries(m, client);
  } finally {
    client.close();
  }
}

/** The push storm and the latency-under-load cell. */
export const mixedGroup: Group = {
  name: 'mixed',
  async cells(ctx) {
    const source = randomBytes(4 * MiB);
    const factories = LAYER_SIZES.map((size) => new BlobFactory(size, source));
    const big = new BlobFactory(256 * MiB);
    const probe = 'bench/probe';
    for (const server of ctx.servers) {
      const client = new HttpClient(server.baseUrl, 1);
      const layer = factories[0]?.next();
      if (layer === undefined) continue;
      const config = imageConfig(probe, [layer]);
      for (const blob of [layer, config]) await uploadTwoStep(client, probe, blob);
      const manifest = ociManifest(describe(config, OCI_CONFIG), [describe(layer, OCI_LAYER)]);
      await putManifest(client, probe, 'latest', manifest);
      client.close();
    }
    const cells: CellSpec[] = [
      {
        id: 'storm.c32',
        group: 'Push storm and latency under load',
        title: `CI push storm: ${STORM_CLIENTS} clients, ${LAYERS_PER_IMAGE} layers of 1-4 MiB + config + manifest each`,
        concurrency: STORM_CLIENTS,
        show: ['imagesps', 'wallS', 'mbps'],
        run: (server) => stormCell(ctx, server, factories),
        after: dropStored,
      },
      {
        id: 'underload.manifest-get',
        group: 'Push storm and latency under load',
        title: 'manifest GET (4 paced clients) during four 256 MiB uploads',
        concurrency: 4,
        show: ['p50', 'p99', 'reqps', 'uploadMBps'],
        cpuPerGiB: true,
        run: (server) => underLoadCell(ctx, server, `/v2/${probe}/manifests/latest`, big),
        after: dropStored,
      },
    ];
    return cells;
  },
};
