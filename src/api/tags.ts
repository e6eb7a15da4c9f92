/** `GET /v2/<name>/tags/list`: the repository's tags, sorted and paged. */
import type { ApiContext } from './context.js';
import { page } from './paging.js';
import type { ApiReply, ApiRequest } from './types.js';

export async function listTags(ctx: ApiContext, req: ApiRequest, name: string): Promise<ApiReply> {
  const all = await ctx.registry.manifests.tags(name);
  const { items, link } = page(req, all, Number.MAX_SAFE_INTEGER);
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (link !== null) headers['Link'] = link;
  return { status: 200, headers, body: JSON.stringify({ name, tags: items }) };
}
