/**
 * Closed-loop load: `concurrency` workers each repeat an operation until a deadline (or a
 * count) is reached; latencies are kept in full and summarised as percentiles.
 */
import { connect, type Socket } from 'node:net';

/** What a closed loop measured. */
export interface LoopResult {
  /** Operations completed without error. */
  ops: number;
  /** Payload bytes moved by completed operations. */
  bytes: number;
  errors: number;
  firstError?: string;
  /** From the first start to the last completion, in seconds. */
  elapsedS: number;
  /** Latency of each completed operation, in milliseconds. */
  latenciesMs: number[];
  /** Connections the server closed after a response, which the client opened again. */
  reconnects?: number;
}

/** Bounds of a closed loop: it stops starting operations at whichever comes first. */
export interface LoopBounds {
  concurrency: number;
  durationMs: number;
  /** Most operations in all, e.g. to bound the disk space of large uploads. */
  maxOps?: number;
  /** Stop early once this many operations failed. */
  maxErrors?: number;
}

/**
 * Runs `op` in `concurrency` parallel loops. `op` resolves to the payload bytes it moved.
 * Operations in flight at the deadline complete and count.
 */
export async function closedLoop(
  bounds: LoopBounds,
  op: (worker: number, seq: number) => Promise<number>,
): Promise<LoopResult> {
  const result: LoopResult = { ops: 0, bytes: 0, errors: 0, elapsedS: 0, latenciesMs: [] };
  const maxOps = bounds.maxOps ?? Number.POSITIVE_INFINITY;
  const maxErrors = bounds.maxErrors ?? 10;
  const start = performance.now();
  const deadline = start + bounds.durationMs;
  let started = 0;
  let last = start;
  const worker = async (w: number): Promise<void> => {
    while (performance.now() < deadline && started < maxOps && result.errors < maxErrors) {
      const seq = started++;
      const t0 = performance.now();
      try {
        const bytes = await op(w, seq);
        last = performance.now();
        result.latenciesMs.push(last - t0);
        result.ops += 1;
        result.bytes += bytes;
      } catch (err) {
        result.errors += 1;
        result.firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: bounds.concurrency }, (_, w) => worker(w)));
  result.elapsedS = Math.max(last - start, 1) / 1000;
  return result;
}

/** The `p`-th percentile (0-100, nearest rank) of `values`; null when empty. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? null;
}

/** The median of `values` (the mean of the middle two for an even count); null when empty. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  const upper = sorted[mid] ?? 0;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] ?? upper) + upper) / 2;
}

/** Options of {@link rawHeadLoad}. */
export interface RawLoadOptions {
  port: number;
  path: string;
  connections: number;
  durationMs: number;
}

/**
 * HEAD requests over raw keep-alive sockets, as fast as one Node thread can issue them.
 *
 * `wrk` cannot send HEAD (its parser waits for the body the Content-Length announces), and
 * `node:http` costs tens of microseconds per request; this client writes one fixed request
 * and reads a response up to its blank line, nothing else. Only HEAD is supported: the
 * response has no body whatever its headers say (RFC 9110, section 9.3.2).
 */
export async function rawHeadLoad(opts: RawLoadOptions): Promise<LoopResult> {
  const request = Buffer.from(`HEAD ${opts.path} HTTP/1.1\r\nHost: 127.0.0.1:${opts.port}\r\n\r\n`);
  const result: LoopResult = { ops: 0, bytes: 0, errors: 0, elapsedS: 0, latenciesMs: [] };
  const start = performance.now();
  const deadline = start + opts.durationMs;
  let last = start;

  result.reconnects = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      let pending = '';
      let sentAt = 0;
      let resend = false;
      let finished = false;
      let answeredHere = 0;
      let lastError = 'server closed the connection';
      let socket: Socket;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        socket.destroy();
        resolve();
      };
      const fail = (message: string): void => {
        result.errors += 1;
        result.firstError ??= message;
        finish();
      };
      const send = (): void => {
        if (!resend && performance.now() >= deadline) return finish();
        // A request resent on a new connection keeps its first start: the reconnection is
        // part of its latency.
        if (!resend) sentAt = performance.now();
        resend = false;
        socket.write(request);
      };
      const open = (): void => {
        pending = '';
        answeredHere = 0;
        socket = connect({ host: '127.0.0.1', port: opts.port, noDelay: true });
        socket.setEncoding('latin1');
        socket.on('connect', send);
        socket.on('data', (text: string) => {
          pending += text;
          const end = pending.indexOf('\r\n\r\n');
          if (end < 0) return;
          if (end + 4 !== pending.length) return fail('HEAD response with trailing bytes');
          const status = pending.slice(9, 12);
          pending = '';
          if (status !== '200') return fail(`HEAD ${opts.path}: status ${status}`);
          last = performance.now();
          result.latenciesMs.push(last - sentAt);
          result.ops += 1;
          answeredHere += 1;
          send();
        });
        socket.on('error', (err) => (lastError = err.message));
        socket.on('close', () => {
          if (finished) return;
          // A server that closes a connection after answering on it makes the client connect
          // again (as real clients do) and send the unanswered request there.
          if (answeredHere === 0) return fail(lastError);
          result.reconnects = (result.reconnects ?? 0) + 1;
          resend = true;
          open();
        });
      };
      open();
    });

  await Promise.all(Array.from({ length: opts.connections }, one));
  result.elapsedS = Math.max(last - start, 1) / 1000;
  return result;
}
