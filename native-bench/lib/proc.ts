/**
 * Per-process figures read from `/proc`: CPU time (all threads of the process) and resident
 * memory, including the peak (`VmHWM`), which Linux lets the owner reset between cells.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

let clockTicks: number | undefined;

/** `sysconf(_SC_CLK_TCK)`: the unit of `utime` and `stime` in `/proc/<pid>/stat`. */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    const text = execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim();
    const parsed = Number(text);
    clockTicks = Number.isFinite(parsed) && parsed > 0 ? parsed : 100;
  }
  return clockTicks;
}

/**
 * CPU seconds (user + system) spent so far by every thread of `pid`: `/proc/<pid>/stat`
 * sums the whole thread group, so Berth's worker and gateway threads are included.
 */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; fields after it start at field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / ticksPerSecond();
}

/** A `kB` line of `/proc/<pid>/status` (`VmHWM`, `VmRSS`) in bytes; NaN when absent. */
export function statusBytes(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  return m?.[1] === undefined ? Number.NaN : Number(m[1]) * 1024;
}

/**
 * Resets the peak RSS (`VmHWM`) of `pid` to its current RSS (writing 5 to `clear_refs`,
 * Linux 4.0+; needs to own the process or be root).
 *
 * @returns false when the kernel refused, in which case `VmHWM` is the lifetime peak.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}
