/**
 * Blob uploads: two-step (POST, PUT with body), single request (`POST ?digest=`) and
 * chunked (PATCHes of 8 MiB with `Content-Range`).
 */
import { BlobFactory, type Blob } from '../lib/blobs.js';
import { fromLoop, noteRetries, type CellSpec, type Measured } from '../lib/cells.js';
import { HttpClient, uploadChunked, uploadSingle, uploadTwoStep } from '../lib/client.js';
import { sizeId, sizeLabel, StoredBlobs, type BenchContext, type Group } from '../lib/context.js';
import { closedLoop } from '../lib/load.js';
import type { Server } from '../lib/servers.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Most bytes one cell uploads to one server, to bound disk use and time. */
const BYTES_PER_CELL = 3 * GiB;

const stored = new StoredBlobs();
const dropStored = (server: Server): Promise<void> => stored.drop(server);

type Upload = (client: HttpClient, repo: string, blob: Blob, server: Server) => Promise<void>;

const MODES: { id: string; title: string; upload: Upload }[] = [
  {
    id: 'two-step',
    title: 'upload two-step',
    upload: (client, repo, blob) => uploadTwoStep(client, repo, blob),
  },
  {
    id: 'single',
    title: 'upload single POST',
    upload: (client, repo, blob, server) => uploadSingle(client, repo, blob, server.singlePost),
  },
];

const CASES: { size: number; concurrency: number[] }[] = [
  { size: 1 * KiB, concurrency: [1, 16] },
  { size: 1 * MiB, concurrency: [1, 16] },
  { size: 32 * MiB, concurrency: [1, 4] },
  { size: 256 * MiB, concurrency: [1, 4] },
];

/** Runs `upload` in a closed loop of fresh blobs against one server. */
async function uploadLoop(
  ctx: BenchContext,
  server: Server,
  factory: BlobFactory,
  concurrency: number,
  repo: string,
  upload: Upload,
): Promise<Measured> {
  const client = new HttpClient(server.baseUrl, concurrency);
  try {
    const maxOps = Math.max(concurrency, Math.floor(BYTES_PER_CELL / factory.size));
    const r = await closedLoop(
      { concurrency, durationMs: ctx.durationS * 1000, maxOps },
      async () => {
        const blob = factory.next();
        await upload(client, repo, blob, server);
        stored.add(server, blob.digest);
        return blob.size;
      },
    );
    return noteRetries(fromLoop(r), client);
  } finally {
    client.close();
  }
}

function cellsFor(ctx: BenchContext, factories: Map<number, BlobFactory>): CellSpec[] {
  const cells: CellSpec[] = [];
  for (const mode of MODES) {
    for (const { size, concurrency } of CASES) {
      const factory = factories.get(size);
      if (factory === undefined) continue;
      for (const c of concurrency) {
        const big = size >= 32 * MiB;
        const repo = `bench/upload-${mode.id}-${sizeId(size)}-c${c}`;
        const cell: CellSpec = {
          id: `upload.${mode.id}.${sizeId(size)}.c${c}`,
          group: 'Blob upload',
          title: `${mode.title} ${sizeLabel(size)}`,
          concurrency: c,
          show: ['opsps', 'mbps', 'p50', 'p99'],
          cpuPerGiB: big,
          run: async (server) => {
            const m = await uploadLoop(ctx, server, factory, c, repo, mode.upload);
            if (mode.id === 'single' && !server.singlePost) {
              m.note = 'POST ?digest= answers 202 (not supported): measured the two-step fallback';
            }
            return m;
          },
        };
        cell.after = dropStored;
        cells.push(cell);
      }
    }
  }
  const chunkedFactory = factories.get(256 * MiB);
  if (chunkedFactory !== undefined) {
    const chunked: Upload = (client, repo, blob) => uploadChunked(client, repo, blob, 8 * MiB);
    for (const c of [1, 4]) {
      cells.push({
        id: `upload.chunked.256m.c${c}`,
        group: 'Blob upload',
        title: 'upload chunked 256 MiB in 8 MiB PATCHes',
        concurrency: c,
        show: ['opsps', 'mbps', 'p50', 'p99'],
        cpuPerGiB: true,
        run: (server) =>
          uploadLoop(ctx, server, chunkedFactory, c, `bench/upload-chunked-c${c}`, chunked),
        after: dropStored,
      });
    }
  }
  return cells;
}

/** Whether a server completes an upload on `POST ?digest=` with the body. */
async function probeSinglePost(server: Server): Promise<boolean> {
  const client = new HttpClient(server.baseUrl, 1);
  try {
    const blob = new BlobFactory(1024).next();
    const path = `/v2/bench/probe/blobs/uploads/?digest=${encodeURIComponent(blob.digest)}`;
    const reply = await client.send('POST', path, {
      headers: { 'content-type': 'application/octet-stream' },
      body: blob.parts,
    });
    return reply.status === 201;
  } finally {
    client.close();
  }
}

/** The upload group. */
export const uploadGroup: Group = {
  name: 'upload',
  async cells(ctx) {
    for (const server of ctx.servers) server.singlePost = await probeSinglePost(server);
    const factories = new Map(CASES.map(({ size }) => [size, new BlobFactory(size)]));
    // Warm-up: a few uploads of each mode so that JIT compilation is not measured.
    for (const server of ctx.servers) {
      const client = new HttpClient(server.baseUrl, 4);
      const small = factories.get(MiB);
      if (small !== undefined) {
        for (let i = 0; i < 40; i++) {
          await uploadTwoStep(client, 'bench/warm', small.next());
          await uploadSingle(client, 'bench/warm', small.next(), server.singlePost);
        }
      }
      client.close();
    }
    return cellsFor(ctx, factories);
  },
};
