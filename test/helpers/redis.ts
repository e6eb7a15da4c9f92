/**
 * A real Redis for tests: Debian's `redis-server` on 127.0.0.1 and a free port, keeping
 * nothing on disk, in a temporary working directory. Stopped (and paused, to play a hung
 * server) by the PID of the process it started, never by name.
 *
 * A missing `redis-server` is a failure naming the `apt-get` line, never a skip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './ports.js';
import { OutputTail, stopChild } from './registry.js';
import { requireTool } from './tools.js';
import { trackChild } from './leftovers.js';

/** A running redis-server. */
export interface RedisServer {
  port: number;
  /** `127.0.0.1:PORT`, as `redis.addr` takes it. */
  addr: string;
  /** A client for checks behind the registry's back; closed by `stop()`. */
  client: Redis;
  /** Freezes the server (SIGSTOP): connections stay open, nothing is answered. */
  pause(): void;
  /** Undoes `pause()` (SIGCONT). */
  resume(): void;
  /** Stops the server by its PID; its data is gone. `start()` brings up an empty one again. */
  kill(): Promise<void>;
  /** Starts an empty server on the same port after `kill()`. */
  start(): Promise<void>;
  /** Kills the server, closes the client and removes the working directory. */
  stop(): Promise<void>;
}

/** Resolves once the server answers PING with PONG on a fresh connection. */
async function waitForPong(port: number, child: ChildProcess, output: OutputTail): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`redis-server exited (${child.exitCode}):\n${output.text()}`);
    }
    const pong = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => socket.write('PING\r\n'));
      socket.setTimeout(500, () => socket.destroy());
      socket.once('data', (data) => {
        resolve(data.toString().startsWith('+PONG'));
        socket.destroy();
      });
      socket.once('error', () => resolve(false));
      socket.once('close', () => resolve(false));
    });
    if (pong) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server did not answer on port ${port}:\n${output.text()}`);
}

/** Starts a redis-server; resolves once it answers. */
export async function startRedis(): Promise<RedisServer> {
  const command = requireTool('redis-server', 'redis-server');
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'berth-redis-'));
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    const output = new OutputTail();
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
    ];
    const started = spawn(command, [...args, '--dir', dir], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    trackChild(started);
    started.stdout?.on('data', (c: Buffer) => output.push(c));
    started.stderr?.on('data', (c: Buffer) => output.push(c));
    child = started;
    await waitForPong(port, started, output);
  };
  const kill = async (): Promise<void> => {
    const running = child;
    if (running === null) return;
    child = null;
    // A stopped process would only act on SIGTERM once continued.
    running.kill('SIGCONT');
    await stopChild(running);
  };
  const signal = (name: NodeJS.Signals): void => {
    if (child === null) throw new Error('redis-server is not running');
    child.kill(name);
  };

  await start();
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
  // The checks' own connection comes and goes with the server; its errors are expected.
  client.on('error', () => undefined);
  return {
    port,
    addr: `127.0.0.1:${port}`,
    client,
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    kill,
    start,
    stop: async () => {
      client.disconnect();
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` every 20 ms until it resolves true; rejects after `ms`. */
export async function eventually(
  what: string,
  check: () => Promise<boolean>,
  ms = 5_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting until ${what}`);
}
