/** Blob GET (wrk) and HEAD (raw sockets) by size and concurrency, with nginx beside some GETs. */
import { relative, join } from 'node:path';
import { BlobFactory, type Blob } from '../lib/blobs.js';
import { fromLoop, fromWrk, type CellSpec, type Measured } from '../lib/cells.js';
import { HttpClient, uploadTwoStep } from '../lib/client.js';
import { sizeId, sizeLabel, type BenchContext, type Group } from '../lib/context.js';
import { rawHeadLoad } from '../lib/load.js';
import type { Server } from '../lib/servers.js';
import { runWrk } from '../lib/wrk.js';

const MiB = 1024 * 1024;
const SIZES = [1024, MiB, 32 * MiB, 256 * MiB];
const CONCURRENCY = [1, 16, 64];
const REPO = 'bench/read';

/** GET `paths` with wrk against `server` at `c` connections. */
export async function wrkGet(
  ctx: BenchContext,
  server: Server,
  paths: string[],
  c: number,
  headers?: Record<string, string>,
): Promise<Measured> {
  const r = await runWrk({
    baseUrl: server.baseUrl,
    paths,
    connections: c,
    durationS: ctx.durationS,
    scriptDir: ctx.workDir,
    ...(headers === undefined ? {} : { headers }),
  });
  return fromWrk(r);
}

/** HEAD `path` over raw sockets against `server` at `c` connections. */
export async function rawHead(
  ctx: BenchContext,
  server: Server,
  path: string,
  c: number,
): Promise<Measured> {
  const r = await rawHeadLoad({
    port: server.port,
    path,
    connections: c,
    durationMs: ctx.durationS * 1000,
  });
  return fromLoop(r);
}

/** Where a blob's bytes lie in a registry's storage (the reference layout). */
function blobDataPath(root: string, digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return join(root, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
}

/** The read group: one blob of each size is stored in every registry first. */
export const readGroup: Group = {
  name: 'read',
  async cells(ctx) {
    const blobs: Blob[] = SIZES.map((size) => new BlobFactory(size).next());
    for (const server of ctx.servers) {
      const client = new HttpClient(server.baseUrl, 1);
      for (const blob of blobs) await uploadTwoStep(client, REPO, blob);
      client.close();
    }
    // Warm-up (JIT, page cache): one short GET and HEAD run per server.
    const warm = { ...ctx, durationS: 1 };
    for (const server of ctx.servers) {
      const small = blobs[1];
      if (small === undefined) continue;
      await wrkGet(warm, server, [`/v2/${REPO}/blobs/${small.digest}`], 16);
      await rawHead(warm, server, `/v2/${REPO}/blobs/${small.digest}`, 16);
    }

    const go = ctx.servers.find((s) => s.key === 'go');
    const cells: CellSpec[] = [
      {
        id: 'read.base.c64',
        group: 'Blob GET and HEAD',
        title: 'GET /v2/ (trivial endpoint of each server)',
        concurrency: 64,
        show: ['reqps', 'p50', 'p99'],
        run: (server) => wrkGet(ctx, server, ['/v2/'], 64),
      },
    ];
    for (const blob of blobs) {
      const path = `/v2/${REPO}/blobs/${blob.digest}`;
      const big = blob.size >= 32 * MiB;
      for (const c of CONCURRENCY) {
        const cell: CellSpec = {
          id: `read.get.${sizeId(blob.size)}.c${c}`,
          group: 'Blob GET and HEAD',
          title: `blob GET ${sizeLabel(blob.size)}`,
          concurrency: c,
          show: ['reqps', 'mbps', 'p50', 'p99'],
          cpuPerGiB: big,
          run: (server) => wrkGet(ctx, server, [path], c),
        };
        // nginx beside every 256 MiB GET, and the 1 MiB and 32 MiB ones at c=16: what a
        // server that sends files with sendfile gets from this machine's loopback.
        const withNginx = blob.size === 256 * MiB || (blob.size >= MiB && c === 16);
        if (withNginx && go !== undefined) {
          // nginx serves the very file the Go registry stored.
          const file = `/${relative(ctx.nginxRoot, blobDataPath(go.root, blob.digest))}`;
          cell.nginx = () => wrkGet(ctx, ctx.nginx, [file], c);
        }
        cells.push(cell);
      }
    }
    for (const blob of blobs) {
      const path = `/v2/${REPO}/blobs/${blob.digest}`;
      for (const c of CONCURRENCY) {
        cells.push({
          id: `read.head.${sizeId(blob.size)}.c${c}`,
          group: 'Blob GET and HEAD',
          title: `blob HEAD ${sizeLabel(blob.size)}`,
          concurrency: c,
          show: ['reqps', 'p50', 'p99'],
          run: (server) => rawHead(ctx, server, path, c),
        });
      }
    }
    return cells;
  },
};
