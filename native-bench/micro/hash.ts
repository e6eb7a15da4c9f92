/**
 * Hash throughput: Berth's hasher module on the main thread, then the real upload path
 * through the worker pool (WorkerPool and tasks.ts with the inmemory driver, so a worker
 * hashes each batch and writes nothing), 1 MiB batches transferred out and back.
 */
import { randomFillSync } from 'node:crypto';
import { createHasher } from '../../src/workers/hasher.js';
import type { AppendResult, TaskFailure } from '../../src/workers/messages.js';
import { batchBytes, WorkerPool } from '../../src/workers/pool.js';
import type { DigestAlgorithm } from '../../src/oci/digest.js';
import { loopFor, measure, type Settings } from './measure.js';
import { figure, type Bench, type Figure } from './report.js';

const GROUP = 'Hash throughput';
const algorithms: DigestAlgorithm[] = ['sha256', 'sha512', 'blake3'];
const MiB = 1 << 20;

/** The batches each upload keeps out at once, as UploadSink's `maxInFlight` does. */
const inFlightPerUpload = 4;

function mainThread(algorithm: DigestAlgorithm, size: number): Bench {
  const label = size === MiB ? '1m' : `${size >> 10}k`;
  const id = `hash.main.${algorithm}.${label}`;
  return {
    id,
    group: GROUP,
    async run(settings: Settings): Promise<Figure[]> {
      const data = randomFillSync(Buffer.allocUnsafe(size));
      // One hasher per round, as one upload keeps its hash across batches.
      const rounds = await measure(settings, (ns) => {
        const hasher = createHasher(algorithm);
        const bytes = loopFor(ns, () => {
          hasher.update(data);
          return size;
        });
        hasher.digest();
        return bytes;
      });
      const unit = size === MiB ? '1 MiB' : `${size >> 10} KiB`;
      return [
        figure(
          {
            id,
            group: GROUP,
            name: `${algorithm}, main thread, ${unit} updates`,
            unit: 'GB/s',
            note: 'createHasher() of src/workers/hasher.ts',
          },
          rounds,
          (r) => r.units / r.seconds / 1e9,
        ),
      ];
    },
  };
}

/** Upload ids that the pool routes one to each shard. */
function oneUploadPerShard(pool: WorkerPool, shards: number): string[] {
  const ids = new Map<number, string>();
  for (let i = 0; ids.size < shards; i++) {
    const id = `micro-${i}`;
    if (!ids.has(pool.shardOf(id))) ids.set(pool.shardOf(id), id);
  }
  return [...ids.values()];
}

function throughWorkers(algorithm: DigestAlgorithm, workers: number): Bench {
  const id = `hash.pool.${algorithm}.w${workers}`;
  return {
    id,
    group: GROUP,
    async run(settings: Settings): Promise<Figure[]> {
      const pool = await WorkerPool.create({ driver: 'inmemory', parameters: {} }, workers);
      let detachedOnSend = true;
      try {
        const uploads = oneUploadPerShard(pool, workers);
        const lanes = uploads.flatMap((uploadId) =>
          Array.from({ length: inFlightPerUpload }, () => ({
            uploadId,
            shard: pool.shardOf(uploadId),
            buffer: randomFillSync(new Uint8Array(batchBytes)).buffer,
          })),
        );
        const rounds = await measure(settings, async (ns) => {
          const deadline = process.hrtime.bigint() + ns;
          let bytes = 0;
          await Promise.all(
            lanes.map(async (lane) => {
              while (process.hrtime.bigint() < deadline) {
                const task = {
                  kind: 'append' as const,
                  uploadId: lane.uploadId,
                  dataPath: '',
                  algorithm,
                  expectedOffset: -1,
                  buffer: lane.buffer,
                  length: batchBytes,
                };
                pool.batchOut();
                const result = await pool.run<AppendResult>(lane.shard, task, lane.buffer);
                pool.batchBack();
                if (!result.ok) throw new Error(`append failed: ${failureText(result)}`);
                if (lane.buffer.byteLength !== 0) detachedOnSend = false;
                lane.buffer = result.buffer;
                bytes += batchBytes;
              }
            }),
          );
          return bytes;
        });
        const name = `${algorithm}, ${workers} worker${workers > 1 ? 's' : ''}`;
        const fields = { group: GROUP, facts: { workers, detachedOnSend } };
        const note = `WorkerPool + tasks.ts (inmemory driver), ${inFlightPerUpload} batches of 1 MiB out per worker; workers niced +10`;
        return [
          figure({ ...fields, id, name, unit: 'GB/s', note }, rounds, (r) => {
            return r.units / r.seconds / 1e9;
          }),
          figure(
            {
              ...fields,
              id: `${id}.main-cpu`,
              name: `${name}: main-thread CPU`,
              unit: 'µs/MiB',
              note: 'sending tasks, receiving results (schedstat of the main thread)',
            },
            rounds,
            (r) => (r.mainCpuUs === null ? null : r.mainCpuUs / (r.units / MiB)),
          ),
          figure(
            {
              ...fields,
              id: `${id}.cpu`,
              name: `${name}: process CPU`,
              unit: 'µs/MiB',
              note: 'all threads (process.cpuUsage)',
            },
            rounds,
            (r) => r.cpuUs / (r.units / MiB),
          ),
        ];
      } finally {
        await pool.close();
      }
    },
  };
}

function failureText(failure: TaskFailure): string {
  return `${failure.code} ${JSON.stringify(failure.detail)}`;
}

/** Every hash benchmark, in the order they run. */
export const hashBenches: Bench[] = [
  ...algorithms.flatMap((a) => [mainThread(a, 64 << 10), mainThread(a, MiB)]),
  ...algorithms.flatMap((a) => [throughWorkers(a, 1), throughWorkers(a, 2)]),
];
