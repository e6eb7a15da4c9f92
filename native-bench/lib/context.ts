/** What every scenario group is given, and small helpers they share. */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CellSpec } from './cells.js';
import type { Server } from './servers.js';

/** The running servers and the run's options, as a scenario group sees them. */
export interface BenchContext {
  /** The registries, restarted with empty storage for each group. */
  servers: Server[];
  /** nginx, serving the folder that holds every registry's storage. */
  nginx: Server;
  /** The folder nginx serves. */
  nginxRoot: string;
  /** Seconds of load per cell and server. */
  durationS: number;
  /** Folder for generated files (wrk scripts). */
  workDir: string;
}

/** A group of cells that share a setup (blobs uploaded, tags pushed). */
export interface Group {
  name: string;
  /** Prepares the servers and returns the cells to measure. */
  cells(ctx: BenchContext): Promise<CellSpec[]>;
}

/**
 * Blobs uploaded during a cell, removed from the servers' storage after it to keep disk use
 * bounded (cells upload gigabytes). Only the cell's own blobs go, by their folder in the
 * reference layout (`blobs/sha256/<2>/<hex>`), while nothing reads them; both registries
 * create missing parent folders when they store the next blob.
 */
export class StoredBlobs {
  readonly #byServer = new Map<Server, Set<string>>();

  /** Records that `server` stored `digest`. */
  add(server: Server, digest: string): void {
    let set = this.#byServer.get(server);
    if (set === undefined) {
      set = new Set();
      this.#byServer.set(server, set);
    }
    set.add(digest);
  }

  /** Removes the blobs recorded for `server`. */
  async drop(server: Server): Promise<void> {
    const digests = [...(this.#byServer.get(server) ?? [])];
    this.#byServer.delete(server);
    const dir = join(server.root, 'docker', 'registry', 'v2', 'blobs', 'sha256');
    await Promise.all(
      digests.map((d) => {
        const hex = d.slice('sha256:'.length);
        return rm(join(dir, hex.slice(0, 2), hex), { recursive: true, force: true });
      }),
    );
  }
}

/** Readable size: 1 KiB, 32 MiB. */
export function sizeLabel(bytes: number): string {
  if (bytes >= 2 ** 20) return `${bytes / 2 ** 20} MiB`;
  return `${bytes / 1024} KiB`;
}

/** A size for identifiers: 1k, 32m. */
export function sizeId(bytes: number): string {
  if (bytes >= 2 ** 20) return `${bytes / 2 ** 20}m`;
  return `${bytes / 1024}k`;
}
