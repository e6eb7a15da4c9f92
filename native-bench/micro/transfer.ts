/**
 * What moving upload bytes costs before any hashing: copying socket chunks into a 1 MiB
 * batch, a batch's round trip to a worker thread, and getting a fresh batch buffer.
 */
import { randomFillSync } from 'node:crypto';
import { PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { loopFor, measure, type Settings } from './measure.js';
import { figure, type Bench, type Figure } from './report.js';

const MiB = 1 << 20;
const COPY = 'Chunk copy into a 1 MiB batch';
const TRIP = 'Worker round trip of a 1 MiB ArrayBuffer';
const ALLOC = 'Batch buffers';

function copy(size: number, method: 'set' | 'copy'): Bench {
  const id = `copy.${method}.${size >> 10}k`;
  return {
    id,
    group: COPY,
    async run(settings: Settings): Promise<Figure[]> {
      // uWS hands a request body in pieces of up to ~512 KiB, valid only during the call.
      const chunk = randomFillSync(Buffer.allocUnsafe(size));
      const batch = new ArrayBuffer(MiB);
      const view = new Uint8Array(batch);
      const asBuffer = Buffer.from(batch);
      let fill = 0;
      const step =
        method === 'set'
          ? (): number => {
              if (fill + size > MiB) fill = 0;
              view.set(chunk, fill);
              fill += size;
              return size;
            }
          : (): number => {
              if (fill + size > MiB) fill = 0;
              chunk.copy(asBuffer, fill);
              fill += size;
              return size;
            };
      const rounds = await measure(settings, (ns) => loopFor(ns, step));
      const how = method === 'set' ? 'Uint8Array.set' : 'Buffer.copy';
      const note =
        method === 'set' ? 'what UploadSink.write does' : 'the same bytes with Buffer.copy';
      return [
        figure(
          { id, group: COPY, name: `${size >> 10} KiB chunks, ${how}`, unit: 'GB/s', note },
          rounds,
          (r) => r.units / r.seconds / 1e9,
        ),
      ];
    },
  };
}

/** A worker that echoes buffers, and one round trip at a time to it. */
class Echo {
  readonly #worker = new Worker(new URL('./echo-worker.js', import.meta.url));
  #resolve: ((buffer: ArrayBuffer) => void) | null = null;

  constructor() {
    this.#worker.on('message', (trip: { buffer: ArrayBuffer }) => {
      const resolve = this.#resolve;
      this.#resolve = null;
      resolve?.(trip.buffer);
    });
  }

  /** Sends `buffer` and resolves with what comes back. */
  trip(buffer: ArrayBuffer, transfer: boolean): Promise<ArrayBuffer> {
    return new Promise((resolve) => {
      this.#resolve = resolve;
      this.#worker.postMessage({ buffer, transfer }, transfer ? [buffer] : []);
    });
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}

function roundTrip(transfer: boolean): Bench {
  const id = `trip.${transfer ? 'transfer' : 'clone'}`;
  return {
    id,
    group: TRIP,
    async run(settings: Settings): Promise<Figure[]> {
      const echo = new Echo();
      let buffer = randomFillSync(new Uint8Array(MiB)).buffer;
      const facts = { sourceByteLengthAfterSend: -1, returnedByteLength: -1 };
      try {
        const rounds = await measure(settings, async (ns) => {
          const deadline = process.hrtime.bigint() + ns;
          let trips = 0;
          do {
            const sent = buffer;
            const back = echo.trip(sent, transfer);
            // Moved: the sender's buffer is detached at once. Cloned: it stays usable.
            facts.sourceByteLengthAfterSend = sent.byteLength;
            buffer = await back;
            facts.returnedByteLength = buffer.byteLength;
            trips++;
          } while (process.hrtime.bigint() < deadline);
          return trips;
        });
        const how = transfer ? 'transferred' : 'structured clone';
        const note = transfer
          ? 'moved both ways (what WorkerPool does); plain Worker, one trip at a time'
          : 'copied both ways; plain Worker, one trip at a time';
        return [
          figure(
            { id, group: TRIP, name: `${how}: wall time`, unit: 'µs/trip', note, facts },
            rounds,
            (r) => (r.seconds * 1e6) / r.units,
          ),
          figure(
            {
              id: `${id}.main-cpu`,
              group: TRIP,
              name: `${how}: main-thread CPU`,
              unit: 'µs/trip',
              note: 'schedstat of the main thread',
              facts,
            },
            rounds,
            (r) => (r.mainCpuUs === null ? null : r.mainCpuUs / r.units),
          ),
        ];
      } finally {
        await echo.close();
      }
    },
  };
}

/** Garbage collections and their total pause while `body` runs. */
async function countingGc<T>(body: () => Promise<T>): Promise<[T, number, number]> {
  let count = 0;
  let ms = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      count++;
      ms += entry.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  try {
    const result = await body();
    // GC entries are delivered asynchronously, after the loops that caused them.
    await sleep(50);
    return [result, count, ms];
  } finally {
    observer.disconnect();
  }
}

function allocation(how: 'allocUnsafe' | 'arrayBuffer' | 'pooled'): Bench {
  const id = `alloc.${how}`;
  return {
    id,
    group: ALLOC,
    async run(settings: Settings): Promise<Figure[]> {
      // The batch is touched, as a filled one would be, so the pages are really mapped.
      const free: ArrayBuffer[] = [new ArrayBuffer(MiB)];
      const step =
        how === 'allocUnsafe'
          ? (): number => {
              Buffer.allocUnsafe(MiB)[MiB - 1] = 1;
              return 1;
            }
          : how === 'arrayBuffer'
            ? (): number => {
                new Uint8Array(new ArrayBuffer(MiB))[MiB - 1] = 1;
                return 1;
              }
            : (): number => {
                const buffer = free.pop() ?? new ArrayBuffer(MiB);
                new Uint8Array(buffer)[MiB - 1] = 1;
                free.push(buffer);
                return 1;
              };
      const [rounds, gcs, gcMs] = await countingGc(() =>
        measure(settings, (ns) => loopFor(ns, step)),
      );
      const name = {
        allocUnsafe: 'Buffer.allocUnsafe(1 MiB)',
        arrayBuffer: 'new ArrayBuffer(1 MiB), zero-filled',
        pooled: 'a pooled buffer taken and given back',
      }[how];
      const what = {
        allocUnsafe: 'not pooled at this size',
        arrayBuffer: 'what WorkerPool.takeBuffer makes when its free list is empty',
        pooled: "WorkerPool's free list, mirrored by an array",
      }[how];
      const note = `${what}; ${gcs} GCs, ${gcMs.toFixed(1)} ms of pauses over warm-up and rounds`;
      return [
        figure(
          { id, group: ALLOC, name, unit: 'buffers/s', note, facts: { gcs, gcMs } },
          rounds,
          (r) => r.units / r.seconds,
        ),
      ];
    },
  };
}

/** Every copy, transfer and allocation benchmark, in the order they run. */
export const transferBenches: Bench[] = [
  ...[16 << 10, 64 << 10, 512 << 10].flatMap((size) => [copy(size, 'set'), copy(size, 'copy')]),
  roundTrip(true),
  roundTrip(false),
  allocation('allocUnsafe'),
  allocation('arrayBuffer'),
  allocation('pooled'),
];
