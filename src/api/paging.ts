/**
 * `n` / `last` paging of tag and repository lists (OCI spec "Listing tags"; Docker API
 * "Pagination"), with the `Link` header that points at the next page.
 */
import { RegistryError } from '../errors/registry-error.js';
import type { ApiRequest } from './types.js';

/** A page and the `Link` header value when more remain. */
export interface Page {
  items: string[];
  link: string | null;
}

/**
 * The `n` of a request (`defaultLimit` when absent) and its `last` (null when absent or
 * empty). Throws `PAGINATION_NUMBER_INVALID` for an `n` that is not a whole number.
 */
export function pageQuery(
  req: ApiRequest,
  defaultLimit: number,
): { limit: number; last: string | null } {
  const nText = req.query.get('n');
  const last = req.query.get('last');
  let limit = defaultLimit;
  if (nText !== null && nText !== '') {
    if (!/^\d+$/.test(nText)) throw new RegistryError('PAGINATION_NUMBER_INVALID', { n: nText });
    limit = Number(nText);
  }
  return { limit, last: last === null || last === '' ? null : last };
}

/**
 * The page of `limit` items from `read`, the items after `last` as read from a sorted source,
 * up to one more than the page (which only tells that a next page exists).
 */
export function pageOf(req: ApiRequest, limit: number, read: string[]): Page {
  const items = read.slice(0, limit);
  if (read.length <= limit || items.length === 0) return { items, link: null };
  const next = new URLSearchParams({ n: String(limit), last: items[items.length - 1] ?? '' });
  return { items, link: `<${req.pathPrefix}${req.path}?${next.toString()}>; rel="next"` };
}

/** One page of a sorted list held whole. */
export function page(req: ApiRequest, sorted: readonly string[], defaultLimit: number): Page {
  const { limit, last } = pageQuery(req, defaultLimit);
  let start = 0;
  if (last !== null) {
    start = sorted.findIndex((item) => item > last);
    if (start < 0) start = sorted.length;
  }
  return pageOf(req, limit, sorted.slice(start, start + limit + 1));
}
