/**
 * The load generators' own ceiling: each generator against nginx's trivial endpoints, so a
 * registry figure near it says "generator-bound", not "server-bound".
 */
import { BlobFactory } from '../lib/blobs.js';
import { fromLoop, type CellSpec, type Measured } from '../lib/cells.js';
import { HttpClient, expectStatus } from '../lib/client.js';
import type { BenchContext, Group } from '../lib/context.js';
import { closedLoop } from '../lib/load.js';
import { rawHead, wrkGet } from './read.js';

const MiB = 1024 * 1024;

async function sinkLoop(ctx: BenchContext, size: number, c: number): Promise<Measured> {
  const factory = new BlobFactory(size);
  const client = new HttpClient(ctx.nginx.baseUrl, c);
  try {
    const r = await closedLoop({ concurrency: c, durationMs: ctx.durationS * 1000 }, async () => {
      const blob = factory.next();
      const reply = await client.send('PUT', '/sink', { body: blob.parts, keepBody: true });
      expectStatus(reply, 201, 'nginx sink');
      return blob.size;
    });
    return fromLoop(r);
  } finally {
    client.close();
  }
}

function nginxOnly(
  id: string,
  title: string,
  c: number,
  show: CellSpec['show'],
  load: () => Promise<Measured>,
): CellSpec {
  return {
    id,
    group: 'Load generator ceiling (against nginx)',
    title,
    concurrency: c,
    show,
    run: () => Promise.reject(new Error('nginx-only cell')),
    nginx: load,
  };
}

/** The ceiling group; it needs no registry. */
export const ceilingGroup: Group = {
  name: 'ceiling',
  cells(ctx) {
    return Promise.resolve([
      nginxOnly('ceiling.wrk-get.c64', 'wrk GET, 2-byte body', 64, ['reqps', 'p50', 'p99'], () =>
        wrkGet(ctx, ctx.nginx, ['/trivial'], 64),
      ),
      nginxOnly('ceiling.raw-head.c64', 'raw-socket HEAD (Node)', 64, ['reqps', 'p50', 'p99'], () =>
        rawHead(ctx, ctx.nginx, '/trivial', 64),
      ),
      nginxOnly('ceiling.node-put-1k.c16', 'node:http PUT 1 KiB', 16, ['reqps', 'p50', 'p99'], () =>
        sinkLoop(ctx, 1024, 16),
      ),
      nginxOnly(
        'ceiling.node-put-256m.c4',
        'node:http PUT 256 MiB',
        4,
        ['mbps', 'p50', 'p99'],
        () => sinkLoop(ctx, 256 * MiB, 4),
      ),
    ]);
  },
};
