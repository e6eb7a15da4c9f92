/**
 * Processes and folders that test helpers start, ended and removed if the test process
 * exits without the helper's own `stop()` (a failed `before`, an interrupted run).
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
let hooked = false;

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** Kills `child` at exit if it is still running then. */
export function trackChild(child: ChildProcess): void {
  hook();
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** Removes `dir` at exit unless {@link untrackDir} says it was removed already. */
export function trackDir(dir: string): void {
  hook();
  dirs.add(dir);
}

/** Forgets a folder the helper removed itself. */
export function untrackDir(dir: string): void {
  dirs.delete(dir);
}
