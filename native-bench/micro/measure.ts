/**
 * Timed loops for the micro benchmarks: a warm-up, then a number of rounds of about the
 * same length, each reporting its wall time, the units of work done and the CPU used by the
 * whole process and by the main thread alone.
 */
import { readFileSync } from 'node:fs';

/** How long to warm up and to measure. */
export interface Settings {
  warmupMs: number;
  roundMs: number;
  rounds: number;
}

/** One timed round. */
export interface Round {
  seconds: number;
  /** Units of work done: bytes, operations or round trips, as the benchmark counts them. */
  units: number;
  /** `process.cpuUsage()` user + system over the round: every thread of the process. */
  cpuUs: number;
  /** CPU time of the main thread alone, or null where the kernel does not tell. */
  mainCpuUs: number | null;
}

/** Runs for about `ns` nanoseconds (finishing what is under way) and returns units done. */
export type Work = (ns: bigint) => number | Promise<number>;

// The main thread's own CPU time: process.cpuUsage() counts the worker threads too, and
// Node 20 has no per-thread call. schedstat's first field is nanoseconds on the CPU.
const schedstat = `/proc/self/task/${process.pid}/schedstat`;

/** Nanoseconds of CPU the main thread has used, or null without /proc schedstat. */
export function mainThreadCpuNs(): number | null {
  try {
    return Number(readFileSync(schedstat, 'utf8').split(' ')[0]);
  } catch {
    return null;
  }
}

/** Warms up, then times `settings.rounds` rounds of `work`. */
export async function measure(settings: Settings, work: Work): Promise<Round[]> {
  await work(BigInt(Math.round(settings.warmupMs * 1e6)));
  const roundNs = BigInt(Math.round(settings.roundMs * 1e6));
  const rounds: Round[] = [];
  for (let i = 0; i < settings.rounds; i++) {
    const main0 = mainThreadCpuNs();
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const units = await work(roundNs);
    const t1 = process.hrtime.bigint();
    const cpu = process.cpuUsage(cpu0);
    const main1 = mainThreadCpuNs();
    rounds.push({
      seconds: Number(t1 - t0) / 1e9,
      units,
      cpuUs: cpu.user + cpu.system,
      mainCpuUs: main0 === null || main1 === null ? null : (main1 - main0) / 1000,
    });
  }
  return rounds;
}

/**
 * Calls `step` until `ns` nanoseconds have passed and returns the sum of what it returned.
 * The clock is read once per call: steps here take a microsecond or more, the read ~50 ns.
 */
export function loopFor(ns: bigint, step: () => number): number {
  const deadline = process.hrtime.bigint() + ns;
  let units = 0;
  do {
    units += step();
  } while (process.hrtime.bigint() < deadline);
  return units;
}

/** Median, minimum and maximum of the values. */
export function spread(values: readonly number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] ?? NaN)
      : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
  return { median, min: sorted[0] ?? NaN, max: sorted[sorted.length - 1] ?? NaN };
}
