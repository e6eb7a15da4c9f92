/**
 * The access log: one line per request when it completes (info; 5xx at error), with the
 * fields the style guide names. Nothing is logged per chunk.
 */
import type { Logger } from 'pino';

export interface RequestOutcome {
  method: string;
  path: string;
  status: number;
  /** Response body bytes sent (or announced, for HEAD). */
  bytes: number;
  durationMs: number;
  fields?: Record<string, unknown>;
  err?: { code: string; cause?: unknown };
}

/** Writes the completion line of one request. */
export function logRequest(log: Logger, outcome: RequestOutcome, accessLog: boolean): void {
  const { fields, err, ...rest } = outcome;
  const line = { ...rest, ...fields, ...(err === undefined ? {} : { err }) };
  if (outcome.status >= 500) log.error(line, 'request failed');
  else if (accessLog) log.info(line, 'request completed');
}
