/** Manifest PUT and GET (by tag, by digest, full Accept) and the paged tags list. */
import {
  BlobFactory,
  FULL_ACCEPT,
  imageConfig,
  ociManifest,
  type Descriptor,
} from '../lib/blobs.js';
import { fromLoop, fromWrk, noteRetries, type CellSpec, type Measured } from '../lib/cells.js';
import { HttpClient, pushImageBlobs, putManifest, expectStatus } from '../lib/client.js';
import type { BenchContext, Group } from '../lib/context.js';
import { closedLoop } from '../lib/load.js';
import type { Server } from '../lib/servers.js';
import { runWrk } from '../lib/wrk.js';

const CONCURRENCY = [1, 16, 64, 256];
const REPO = 'bench/manifests';
const TAGS_REPO = 'bench/tags';
const TAG_COUNT = 1000;
const PAGE = 100;

/** An image of a config and five small layers, pushed to `repo`; returns its parts. */
async function pushBase(
  server: Server,
  repo: string,
): Promise<{ config: Descriptor; layers: Descriptor[]; manifest: Buffer }> {
  const factory = new BlobFactory(4096);
  const layers = Array.from({ length: 5 }, () => factory.next());
  const client = new HttpClient(server.baseUrl, 1);
  try {
    return await pushImageBlobs(client, repo, imageConfig(repo, layers), layers);
  } finally {
    client.close();
  }
}

/** PUT distinct manifests (a counter in an annotation), each worker to its own tag. */
async function putLoop(
  ctx: BenchContext,
  server: Server,
  base: { config: Descriptor; layers: Descriptor[] },
  c: number,
): Promise<Measured> {
  const client = new HttpClient(server.baseUrl, c);
  try {
    const r = await closedLoop(
      { concurrency: c, durationMs: ctx.durationS * 1000 },
      async (w, seq) => {
        const body = ociManifest(base.config, base.layers, { 'bench.seq': String(seq) });
        await putManifest(client, REPO, `w${w}`, body);
        return body.length;
      },
    );
    return noteRetries(fromLoop(r), client);
  } finally {
    client.close();
  }
}

/** Page paths of the tags list, followed by `Link` from `?n=100`, and every tag seen. */
async function walkTags(server: Server): Promise<{ paths: string[]; tags: string[] }> {
  const client = new HttpClient(server.baseUrl, 1);
  const paths: string[] = [];
  const tags: string[] = [];
  try {
    let next: string | null = `/v2/${TAGS_REPO}/tags/list?n=${PAGE}`;
    while (next !== null && paths.length <= TAG_COUNT) {
      const reply = await client.send('GET', next, { keepBody: true });
      expectStatus(reply, 200, `tags list ${next}`);
      paths.push(next);
      const page = JSON.parse(reply.body.toString('utf8')) as { tags?: string[] | null };
      tags.push(...(page.tags ?? []));
      const link = reply.headers.link;
      const m = typeof link === 'string' ? /<([^>]+)>;\s*rel="?next"?/.exec(link) : null;
      const url = m?.[1] === undefined ? null : new URL(m[1], server.baseUrl);
      next = url === null ? null : url.pathname + url.search;
    }
  } finally {
    client.close();
  }
  return { paths, tags };
}

/** What the walk says about the paging: complete, ordered, one page per 100. */
function pagingVerdict(walk: { paths: string[]; tags: string[] }): string {
  const unique = new Set(walk.tags);
  const complete = unique.size === TAG_COUNT && walk.tags.length === TAG_COUNT;
  const paged = walk.paths.length === TAG_COUNT / PAGE;
  const sorted = walk.tags.every((t, i) => i === 0 || (walk.tags[i - 1] ?? '') < t);
  if (complete && paged && sorted)
    return `paging works: ${TAG_COUNT} tags in ${walk.paths.length} pages, in order`;
  return (
    `paging ${paged ? 'works' : 'does NOT work'}: ${unique.size} distinct of ${TAG_COUNT} tags ` +
    `in ${walk.paths.length} page(s)${sorted ? '' : ', not in order'}` +
    (walk.paths.length === 1 ? ' (n is ignored: one response holds every tag)' : '')
  );
}

/** What the manifest cells of one server use. */
interface ManifestRefs {
  tagPath: string;
  digestPath: string;
  base: { config: Descriptor; layers: Descriptor[]; manifest: Buffer };
}

/** The manifest group: PUT and GET, then the tags list. */
export const manifestGroup: Group = {
  name: 'manifest',
  async cells(ctx) {
    const refs = new Map<string, ManifestRefs>();
    const walks = new Map<string, { paths: string[]; tags: string[]; verdict: string }>();
    for (const server of ctx.servers) {
      const base = await pushBase(server, REPO);
      const client = new HttpClient(server.baseUrl, 16);
      const digest = await putManifest(client, REPO, 'latest', base.manifest);
      refs.set(server.key, {
        tagPath: `/v2/${REPO}/manifests/latest`,
        digestPath: `/v2/${REPO}/manifests/${digest}`,
        base,
      });
      // 1000 tags of one image, v0000 ... v0999, for the tags list.
      const tagged = await pushBase(server, TAGS_REPO);
      await closedLoop(
        { concurrency: 16, durationMs: 600_000, maxOps: TAG_COUNT, maxErrors: 1 },
        async (_w, seq) => {
          await putManifest(client, TAGS_REPO, `v${String(seq).padStart(4, '0')}`, tagged.manifest);
          return 0;
        },
      );
      client.close();
      const walk = await walkTags(server);
      walks.set(server.key, { ...walk, verdict: pagingVerdict(walk) });
      // Warm-up of the GET path.
      await fromWrkGet(ctx, server, [`/v2/${REPO}/manifests/latest`], 16, 1);
    }
    const ref = (server: Server): ManifestRefs => {
      const r = refs.get(server.key);
      if (r === undefined) throw new Error(`no manifest pushed to ${server.label}`);
      return r;
    };

    const cells: CellSpec[] = [];
    for (const c of CONCURRENCY) {
      cells.push({
        id: `manifest.put.c${c}`,
        group: 'Manifests and tags',
        title: 'manifest PUT by tag',
        concurrency: c,
        show: ['reqps', 'p50', 'p99'],
        run: (server) => putLoop(ctx, server, ref(server).base, c),
      });
    }
    for (const by of ['tag', 'digest'] as const) {
      for (const c of CONCURRENCY) {
        cells.push({
          id: `manifest.get.${by}.c${c}`,
          group: 'Manifests and tags',
          title: `manifest GET by ${by}`,
          concurrency: c,
          show: ['reqps', 'p50', 'p99'],
          run: (server) => {
            const r = ref(server);
            return fromWrkGet(ctx, server, [by === 'tag' ? r.tagPath : r.digestPath], c);
          },
        });
      }
    }
    for (const c of [1, 16]) {
      cells.push({
        id: `tags.list.c${c}`,
        group: 'Manifests and tags',
        title: `tags list of ${TAG_COUNT}, ?n=${PAGE} pages followed by Link`,
        concurrency: c,
        show: ['pagesps', 'tagsps', 'p50', 'p99', 'pages'],
        run: async (server) => {
          const walk = walks.get(server.key);
          if (walk === undefined) throw new Error(`no tags walk for ${server.label}`);
          const m = await fromWrkGet(ctx, server, walk.paths, c);
          const pagesps = m.figures.reqps ?? 0;
          m.figures = {
            pagesps,
            tagsps: (pagesps * walk.tags.length) / walk.paths.length,
            p50: m.figures.p50 ?? null,
            p99: m.figures.p99 ?? null,
            pages: walk.paths.length,
          };
          m.note = walk.verdict;
          return m;
        },
      });
    }
    return cells;
  },
};

async function fromWrkGet(
  ctx: BenchContext,
  server: Server,
  paths: string[],
  c: number,
  durationS = ctx.durationS,
): Promise<Measured> {
  const r = await runWrk({
    baseUrl: server.baseUrl,
    paths,
    connections: c,
    durationS,
    headers: { Accept: FULL_ACCEPT },
    scriptDir: ctx.workDir,
  });
  return fromWrk(r);
}
