/** `GET /v2/_catalog`: the sorted list of repositories, paged. */
import type { ApiContext } from './context.js';
import { pageOf, pageQuery } from './paging.js';
import type { ApiReply, ApiRequest } from './types.js';

/** Page size when the client gives no `n` (the reference registry's catalog.maxentries). */
const defaultCatalogEntries = 1000;

export async function listCatalog(ctx: ApiContext, req: ApiRequest): Promise<ApiReply> {
  const { limit, last } = pageQuery(req, defaultCatalogEntries);
  // One more than the page, to know whether a next page exists.
  const read = await ctx.registry.repositories(last, limit + 1);
  const { items, link } = pageOf(req, limit, read);
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (link !== null) headers['Link'] = link;
  return { status: 200, headers, body: JSON.stringify({ repositories: items }) };
}
