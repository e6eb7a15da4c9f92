/** `GET /v2/_catalog`: the sorted list of repositories, paged. */
import type { ApiContext } from './context.js';
import { page } from './paging.js';
import type { ApiReply, ApiRequest } from './types.js';

/** Page size when the client gives no `n` (the reference registry's catalog.maxentries). */
const defaultCatalogEntries = 1000;

export async function listCatalog(ctx: ApiContext, req: ApiRequest): Promise<ApiReply> {
  const all = await ctx.registry.repositories();
  const { items, link } = page(req, all, defaultCatalogEntries);
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (link !== null) headers['Link'] = link;
  return { status: 200, headers, body: JSON.stringify({ repositories: items }) };
}
