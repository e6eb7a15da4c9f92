/**
 * A registry server process started by a test, and the shared machinery to start one, wait
 * until it answers and stop it again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { trackChild } from './leftovers.js';

/** A registry server (Berth or the Go reference registry) running for a test. */
export interface RunningRegistry {
  /** Base URL, `http://127.0.0.1:PORT`. */
  url: string;
  /** `127.0.0.1:PORT`, as used in image references. */
  hostPort: string;
  /** TCP port on 127.0.0.1. */
  port: number;
  /** Storage root directory (filesystem driver `rootdirectory`). */
  root: string;
  /** Process id of the server. */
  pid: number;
  /**
   * Stops the server (SIGTERM, then SIGKILL after 5 s), waits for it to exit and removes
   * the temporary directories the helper created. A storage root passed in by the caller
   * is kept. Calling it again does nothing.
   */
  stop(): Promise<void>;
}

/** A {@link RunningRegistry} whose console output is kept for error messages. */
export interface RunningServer extends RunningRegistry {
  /** The last ~64 KiB the server wrote to stdout and stderr. */
  logs(): string;
}

/** What {@link launchRegistry} needs to start one server process. */
export interface LaunchSpec {
  /** Human-readable name used in error messages, e.g. "Go registry". */
  name: string;
  /** Executable to spawn. */
  command: string;
  /** Its arguments. */
  args: string[];
  /** Extra environment variables, merged over `process.env`. */
  env?: Record<string, string>;
  /** Port on 127.0.0.1 the server was configured to listen on. */
  port: number;
  /** Storage root the server was configured with. */
  root: string;
  /** Directories removed after the process has exited. */
  cleanup: string[];
  /**
   * How long to wait for `GET /v2/` to answer; default 30 000 ms (a loaded 2-core CI
   * machine can be slow to start Node and its workers).
   */
  readyTimeoutMs?: number;
  /** The `GET /v2/` status that means ready; 401 for a server that requires auth. */
  readyStatus?: number;
}

/** Keeps the last `limit` bytes written to it. */
export class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly limit = 64 * 1024) {}

  /** Appends a chunk, dropping the oldest bytes beyond the limit. */
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit && this.chunks.length > 1) {
      const first = this.chunks.shift();
      if (first !== undefined) this.size -= first.length;
    }
  }

  /** The kept output as text (at most the limit, cut at the front). */
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}

/** Children still alive, killed if the test process exits without stopping them. */
/**
 * Resolves when the child has exited, or after `ms` milliseconds (to `false`).
 *
 * @returns Whether the child exited in time.
 */
export function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

/**
 * Stops a child process by its PID: SIGTERM, then SIGKILL if it is still alive after
 * `graceMs`, and waits for it to exit.
 */
export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  if (await waitForExit(child, graceMs)) return;
  child.kill('SIGKILL');
  await waitForExit(child, 10_000);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Spawns a registry server, waits until `GET /v2/` answers 200 and returns its handle.
 *
 * @throws Error with the server's captured output if it exits or does not answer in time.
 */
export async function launchRegistry(spec: LaunchSpec): Promise<RunningServer> {
  const output = new OutputTail();
  const child = spawn(spec.command, spec.args, {
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackChild(child);
  child.stdout?.on('data', (c: Buffer) => output.push(c));
  child.stderr?.on('data', (c: Buffer) => output.push(c));
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });

  const hostPort = `127.0.0.1:${spec.port}`;
  const url = `http://${hostPort}`;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await stopChild(child);
      await Promise.all(spec.cleanup.map((d) => rm(d, { recursive: true, force: true })));
    })();
    return stopped;
  };

  const describe = (): string =>
    `${spec.name} (${[spec.command, ...spec.args].join(' ')})\n--- output ---\n${output.text()}`;
  const deadline = Date.now() + (spec.readyTimeoutMs ?? 30_000);
  let lastProblem = 'no answer yet';
  for (;;) {
    if (spawnError !== undefined) {
      await stop();
      throw new Error(`${spec.name} could not be started: ${spawnError.message}\n${describe()}`);
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(
        `${spec.name} exited before it was ready ` +
          `(code ${String(child.exitCode)}, signal ${String(child.signalCode)})\n${describe()}`,
      );
    }
    try {
      const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status === (spec.readyStatus ?? 200)) break;
      lastProblem = `GET /v2/ answered ${res.status}`;
    } catch (err) {
      lastProblem = `GET /v2/ failed: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${spec.name} was not ready in time (${lastProblem})\n${describe()}`);
    }
    await sleep(50);
  }

  if (child.pid === undefined) throw new Error(`${spec.name} has no pid`);
  const logs = (): string => output.text();
  return { url, hostPort, port: spec.port, root: spec.root, pid: child.pid, stop, logs };
}
