/**
 * Writing an `ApiReply` to a uWebSockets.js response: status, headers, and a whole body, a
 * HEAD length, or a stream pumped with backpressure (`tryEnd` / `onWritable`, the pattern
 * uWS documents for large bodies). Every write happens inside `cork`, since replies are
 * written from async callbacks.
 */
import { STATUS_CODES } from 'node:http';
import type { Readable } from 'node:stream';
import type { HttpResponse } from 'uWebSockets.js';
import type { ApiReply } from '../api/types.js';
import { canRecycle } from '../drivers/driver.js';

/** Per-response state shared with the abort handler. */
export interface ResponseState {
  aborted: boolean;
  /** The stream being sent, destroyed if the client goes away. */
  readable: Readable | null;
  /** Bytes of body sent or announced. */
  bytes: number;
}

const statusLines = new Map<number, string>();

function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
    statusLines.set(status, line);
  }
  return line;
}

function writeHead(res: HttpResponse, reply: ApiReply, common: [string, string][]): void {
  res.writeStatus(statusLine(reply.status));
  for (const [name, value] of common) res.writeHeader(name, value);
  for (const [name, value] of Object.entries(reply.headers ?? {})) {
    if (Array.isArray(value)) for (const v of value) res.writeHeader(name, v);
    else res.writeHeader(name, value);
  }
}

/**
 * Sends a reply. `close` asks for the connection to be closed after it (the request body was
 * not read to its end, so the connection cannot carry another request). Calls `done` when
 * the last byte is handed to the socket or the client has gone.
 */
export function sendReply(
  res: HttpResponse,
  reply: ApiReply,
  common: [string, string][],
  state: ResponseState,
  head: boolean,
  close: boolean,
  done: () => void,
): void {
  const stream = reply.stream;
  if (state.aborted) {
    // The client left while the reply was made: its stream holds an open file.
    stream?.readable.destroy();
    return done();
  }
  if (stream !== undefined && !head) {
    res.cork(() => writeHead(res, reply, common));
    return pump(res, stream.readable, stream.length, state, done);
  }
  // A HEAD never sends the stream it might have been given.
  stream?.readable.destroy();
  res.cork(() => {
    writeHead(res, reply, common);
    const body = reply.body ?? '';
    if (reply.status === 204 || reply.status === 304) {
      endAnnouncing(res, null, close);
    } else if (reply.contentLength !== undefined) {
      state.bytes = reply.contentLength;
      endAnnouncing(res, reply.contentLength, close);
    } else if (head) {
      endAnnouncing(res, Buffer.byteLength(body), close);
    } else {
      state.bytes = Buffer.byteLength(body);
      res.end(body, close);
    }
  });
  done();
}

/**
 * Ends a response that has no body: a HEAD announcing `length`, or a 204/304 (null).
 * In uWS v20.30, `endWithoutBody(length)` writes the header but never ends the response (the
 * call is commented out in its source), and an explicit `undefined` is read as a length, so
 * every HEAD left its connection unusable. Only the argument-less form works: the header is
 * written by hand, and closing is asked for with a header rather than the argument.
 */
function endAnnouncing(res: HttpResponse, length: number | null, close: boolean): void {
  if (length !== null) res.writeHeader('Content-Length', String(length));
  if (close) res.writeHeader('Connection', 'close');
  res.endWithoutBody();
}

function pump(
  res: HttpResponse,
  readable: Readable,
  length: number,
  state: ResponseState,
  done: () => void,
): void {
  state.readable = readable;
  // uWS copies or sends a chunk's bytes within `tryEnd`, and keeps none it refused: a chunk
  // taken whole may go back to its stream for reuse.
  const recycle: (chunk: Buffer) => void = canRecycle(readable)
    ? (chunk) => readable.recycle(chunk)
    : () => undefined;
  let finished = false;
  /** A chunk uWS could not take yet; `end` may come while it waits. */
  let waiting = false;
  let sourceEnded = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    readable.destroy();
    done();
  };
  if (length === 0) {
    res.cork(() => res.end());
    return finish();
  }
  readable.on('data', (chunk: Buffer) => {
    if (state.aborted) return finish();
    res.cork(() => {
      const start = res.getWriteOffset();
      const [ok, ended] = res.tryEnd(chunk, length);
      // After the last byte the response object is gone: nothing may touch it.
      if (ended) {
        state.bytes = length;
        recycle(chunk);
        return finish();
      }
      state.bytes = res.getWriteOffset();
      if (ok) return recycle(chunk);
      // The socket is full: hold this chunk until uWS says it can take more.
      readable.pause();
      waiting = true;
      res.onWritable((offset) => {
        const [retryOk, retryEnded] = res.tryEnd(chunk.subarray(offset - start), length);
        if (retryEnded) {
          state.bytes = length;
          recycle(chunk);
          finish();
          return true;
        }
        state.bytes = res.getWriteOffset();
        if (retryOk) {
          waiting = false;
          recycle(chunk);
          // Not from inside this callback: uWS v20.30 puts this handler back when it returns,
          // over any handler registered meanwhile, and a resumed stream can emit its next
          // chunk (whose tryEnd may register one) before that. The stale handler then
          // answered for the next chunk and its unsent tail was skipped.
          setImmediate(() => {
            if (finished || state.aborted) return;
            if (sourceEnded) truncated();
            else readable.resume();
          });
        }
        return retryOk;
      });
    });
  });
  // The client left while the pump waited for the socket: no further `data` will say so.
  readable.once('close', () => {
    if (state.aborted) finish();
  });
  readable.on('error', () => {
    // Headers are out: the only honest signal left is to cut the connection.
    if (!state.aborted && !finished) res.close();
    finish();
  });
  // The source ended before `length` bytes: the stored blob is shorter than its size said.
  const truncated = (): void => {
    if (!finished && !state.aborted) res.close();
    finish();
  };
  readable.on('end', () => {
    sourceEnded = true;
    if (!waiting) truncated();
  });
}
