/**
 * The access log: one line per request when it completes (info; 5xx at error), with the
 * fields the style guide names. Nothing is logged per chunk.
 */
import { stdSerializers, type Logger } from 'pino';

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

/**
 * Writes the completion line of one request, if any: `log` is called only then, so that a
 * request that logs nothing makes no logger (with the access log off, the line was built
 * and dropped on every request).
 */
export function logRequest(log: () => Logger, outcome: RequestOutcome, accessLog: boolean): void {
  if (outcome.status < 500 && !accessLog) return;
  const { fields, err, ...rest } = outcome;
  const line: Record<string, unknown> = { ...rest, ...fields };
  if (err !== undefined) {
    // The cause goes to the log with its message, stack and causes; never to the client.
    const cause = err.cause instanceof Error ? stdSerializers.err(err.cause) : err.cause;
    line['err'] = cause === undefined ? { code: err.code } : { code: err.code, cause };
  }
  if (outcome.status >= 500) log().error(line, 'request failed');
  else log().info(line, 'request completed');
}
