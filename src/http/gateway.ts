/**
 * The TCP gateway in front of uWebSockets.js. uWS v20.30 cannot do two things real clients
 * need on a plain-HTTP port:
 * - answer a TLS handshake: skopeo, podman and docker try TLS first on an insecure
 *   registry, and uWS, waiting for a request line that never comes, holds them for its
 *   10-second idle timeout before they fall back to HTTP;
 * - parse an absolute-form request target (`PUT http://host/v2/...`), an HTTP/1.0 request
 *   line, or answer a line that is not HTTP at all: it drops the first and waits out its
 *   timeout on the others.
 * So by default a worker thread owns the public port, handles both, and splices every
 * other connection to uWS on a private loopback port, after a PROXY protocol v2 header
 * naming the client (proxy-protocol.ts), so that uWS still reports the client's address.
 * (Not a unix socket: uWS v20.30 lost bytes of large backpressured responses on one,
 * measured here with a 3 MB blob; on TCP a like loss was the reply pump resuming inside
 * uWS's onWritable callback, see reply.ts.) This costs an extra hop: on this 2-core
 * machine a 500 MB request body took 0.5-0.8 s through the gateway against 0.3 s
 * straight to uWS. Behind a TLS-terminating proxy neither case arises, and
 * `http.gateway: false` (a Berth extension) lets uWS own the port directly.
 *
 * Known gap: only the first request of a connection is rewritten from absolute form.
 */
import { Worker } from 'node:worker_threads';
import type { GatewayData } from './gateway-worker.js';

export class Gateway {
  readonly #worker: Worker;

  private constructor(worker: Worker) {
    this.#worker = worker;
  }

  /** Starts the gateway on `host:port`, forwarding to loopback port `upstream`. */
  static async start(host: string, port: number, upstream: number): Promise<[Gateway, number]> {
    const data: GatewayData = { host, port, upstream };
    const worker = new Worker(new URL('./gateway-worker.js', import.meta.url), {
      workerData: data,
    });
    try {
      const bound = await new Promise<number>((resolve, reject) => {
        worker.once('message', (m: { port?: number; error?: string }) => {
          if (m.port !== undefined) resolve(m.port);
          else reject(new Error(`cannot listen on ${host}:${port}: ${m.error ?? 'unknown'}`));
        });
        worker.once('error', reject);
      });
      return [new Gateway(worker), bound];
    } catch (err) {
      // A thread left running would keep the process alive after it failed to start.
      await worker.terminate();
      throw err;
    }
  }

  /** Stops accepting connections; those open go on. */
  stopListening(): void {
    this.#worker.postMessage('stop-listening');
  }

  /** Closes every connection and ends the thread. */
  async close(): Promise<void> {
    this.#worker.postMessage('close');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await this.#worker.terminate();
  }
}
