/**
 * `n` / `last` paging of tag and repository lists (OCI spec "Listing tags"; Docker API
 * "Pagination"), with the `Link` header that points at the next page.
 */
import { RegistryError } from '../errors/registry-error.js';
import type { ApiRequest } from './types.js';

/** One page of a sorted list, and the `Link` header value when more remain. */
export function page(
  req: ApiRequest,
  sorted: readonly string[],
  defaultLimit: number,
): { items: string[]; link: string | null } {
  const nText = req.query.get('n');
  const last = req.query.get('last');
  let limit = defaultLimit;
  if (nText !== null && nText !== '') {
    if (!/^\d+$/.test(nText)) throw new RegistryError('PAGINATION_NUMBER_INVALID', { n: nText });
    limit = Number(nText);
  }
  let start = 0;
  if (last !== null && last !== '') {
    start = sorted.findIndex((item) => item > last);
    if (start < 0) start = sorted.length;
  }
  const items = sorted.slice(start, start + limit);
  const more = start + limit < sorted.length && items.length > 0;
  if (!more) return { items, link: null };
  const next = new URLSearchParams({ n: String(limit), last: items[items.length - 1] ?? '' });
  return { items, link: `<${req.pathPrefix}${req.path}?${next.toString()}>; rel="next"` };
}
