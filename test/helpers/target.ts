/**
 * The registry the end-to-end tests run against: Berth by default, the Go reference
 * registry with `BERTH_E2E_TARGET=go` (to check the tests themselves against the reference
 * implementation of the same API).
 */
import { startBerth } from './berth.js';
import { startGoRegistry } from './go-registry.js';
import type { RunningServer } from './registry.js';

/** Options understood by both start functions. */
export interface TargetOptions {
  /** Storage root; a fresh temporary directory (removed by `stop()`) when omitted. */
  root?: string;
  /** `storage.delete.enabled`; default true. */
  deleteEnabled?: boolean;
}

/** Which server {@link startTarget} starts: `berth` or `go`. */
export const targetName: 'berth' | 'go' = process.env['BERTH_E2E_TARGET'] === 'go' ? 'go' : 'berth';

/** Name of the registry under test for test titles: `Berth` or `the Go registry`. */
export const targetLabel = targetName === 'go' ? 'the Go registry' : 'Berth';

/** Starts the registry under test (see {@link targetName}). */
export const startTarget: (opts?: TargetOptions) => Promise<RunningServer> =
  targetName === 'go' ? startGoRegistry : startBerth;

/** Result of {@link httpGet}. */
export interface HttpAnswer {
  /** HTTP status code. */
  status: number;
  /** Response headers. */
  headers: Headers;
  /** Response body as text (empty for HEAD). */
  body: string;
}

/**
 * Sends a GET (or HEAD) to the registry and reads the whole answer.
 *
 * @param registry - Base URL holder (`url`).
 * @param path - Path starting with `/v2/`.
 * @param headers - Request headers, e.g. `Accept`.
 * @param method - `GET` (default) or `HEAD`.
 */
export async function httpGet(
  registry: { url: string },
  path: string,
  headers: Record<string, string> = {},
  method: 'GET' | 'HEAD' = 'GET',
): Promise<HttpAnswer> {
  const res = await fetch(`${registry.url}${path}`, {
    method,
    headers,
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** Formats a request and its answer for assertion messages. */
export function describeExchange(method: string, path: string, answer: HttpAnswer): string {
  const headers = [...answer.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
  return `${method} ${path} -> ${answer.status}\n${headers}\n\n${answer.body.slice(0, 2000)}`;
}
