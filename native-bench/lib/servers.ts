/**
 * The servers under test, started as children of the benchmark on 127.0.0.1: Berth from
 * this checkout, the Go reference registry (`/usr/bin/docker-registry`) with the equivalent
 * configuration, and nginx serving files for the comparison of large GETs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root: this file runs as `dist/native-bench/lib/servers.js`. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Which registry a figure belongs to. */
export type ServerKey = 'go' | 'berth' | 'berthNoGw';

/** A server process the benchmark started. */
export interface Server {
  key: ServerKey | 'nginx';
  label: string;
  baseUrl: string;
  port: number;
  /** Storage root (nginx: its document root). */
  root: string;
  pid: number;
  /** Whether `POST ?digest=` with a body completes an upload (201). */
  singlePost: boolean;
  /** The configuration file it was started with. */
  configFile: string;
  /** SIGTERM, then SIGKILL after 30 s (a profile takes time to write); resolves once the process has exited. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (bound to port 0 and released). */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? ok(port) : fail(new Error('no port'))));
    });
  });
}

function httpStatus(url: string): Promise<number> {
  return new Promise((ok) => {
    const req = get(url, { agent: false }, (res) => {
      res.resume();
      ok(res.statusCode ?? 0);
    });
    req.on('error', () => ok(0));
    req.setTimeout(2000, () => req.destroy());
  });
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((ok) => {
    const timer = setTimeout(() => ok(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      ok(true);
    });
  });
}

/** Every child still running, stopped by {@link stopAll} on an interrupt. */
const running = new Set<ChildProcess>();

/** Kills every server this process started (by its own PID) and waits for them. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((c) => stopChild(c)));
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    if (!(await waitExit(child, 30_000))) {
      child.kill('SIGKILL');
      await waitExit(child, 5_000);
    }
  }
  running.delete(child);
}

interface LaunchSpec {
  key: Server['key'];
  label: string;
  command: string;
  args: string[];
  port: number;
  root: string;
  configFile: string;
  readyPath: string;
}

async function launch(spec: LaunchSpec): Promise<Server> {
  const child = spawn(spec.command, spec.args, {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  const keep = (t: string): void => {
    output = (output + t).slice(-8000);
  };
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  const baseUrl = `http://127.0.0.1:${spec.port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      running.delete(child);
      throw new Error(`${spec.label} exited (${child.exitCode}) at start:\n${output}`);
    }
    if ((await httpStatus(baseUrl + spec.readyPath)) === 200) break;
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`${spec.label} did not answer ${spec.readyPath} within 20 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${spec.label}: no pid`);
  return {
    key: spec.key,
    label: spec.label,
    baseUrl,
    port: spec.port,
    root: spec.root,
    pid,
    singlePost: false,
    configFile: spec.configFile,
    stop: () => stopChild(child),
  };
}

/** The YAML both registries are given; only `extra` (Berth's own keys) differs. */
function registryConfig(root: string, port: number, extra: string[]): string {
  return [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(root)}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  secret: native-bench-fixed-secret',
    // Bounds the stop between groups: Berth otherwise waits its 30 s default whenever it
    // still counts a request under way (it does after wrk cuts responses off at its end).
    '  draintimeout: 2s',
    ...extra,
    '',
  ].join('\n');
}

/** Starts the Go reference registry with its storage under `dir`. */
export async function startGo(dir: string): Promise<Server> {
  const root = join(dir, 'storage');
  await mkdir(root, { recursive: true });
  const port = await freePort();
  const configFile = join(dir, 'config.yml');
  await writeFile(configFile, registryConfig(root, port, []));
  return launch({
    key: 'go',
    label: 'Go registry',
    command: '/usr/bin/docker-registry',
    args: ['serve', configFile],
    port,
    root,
    configFile,
    readyPath: '/v2/',
  });
}

/** Options of {@link startBerth}. */
export interface BerthOptions {
  /** `http.gateway`; Berth's default is true. */
  gateway: boolean;
  /** Extra Node options, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`. */
  nodeArgs?: string[];
}

/**
 * Node options Berth is started with, as `npm start`, the Dockerfile and `bin/berth.js`'s
 * first line give them (test/native-bench/servers.test.ts checks they agree).
 */
export const berthNodeFlags = ['--max-semi-space-size=2'];

/** Starts Berth from this checkout (`node bin/berth.js serve <config>`; build first). */
export async function startBerth(dir: string, opts: BerthOptions): Promise<Server> {
  const root = join(dir, 'storage');
  await mkdir(root, { recursive: true });
  const port = await freePort();
  const configFile = join(dir, 'config.yml');
  const extra = opts.gateway ? [] : ['  gateway: false'];
  await writeFile(configFile, registryConfig(root, port, extra));
  return launch({
    key: opts.gateway ? 'berth' : 'berthNoGw',
    label: opts.gateway ? 'Berth' : 'Berth (gateway off)',
    command: process.execPath,
    args: [
      ...berthNodeFlags,
      ...(opts.nodeArgs ?? []),
      join(repoRoot, 'bin', 'berth.js'),
      'serve',
      configFile,
    ],
    port,
    root,
    configFile,
    readyPath: '/v2/',
  });
}

/**
 * Starts nginx (2 workers, sendfile, access log off) serving `docRoot`, with `/trivial`
 * (a 2-byte 200) and `/sink` (reads and drops a request body, 201) to measure the load
 * generators' own ceiling.
 */
export async function startNginx(dir: string, docRoot: string): Promise<Server> {
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const configFile = join(dir, 'nginx.conf');
  const config = [
    'daemon off;',
    'master_process on;',
    'worker_processes 2;',
    // Workers read the registries' files under a mode-700 temporary folder.
    'user root;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'error.log')} error;`,
    'events { worker_connections 4096; }',
    'http {',
    '  access_log off;',
    '  sendfile on;',
    '  tcp_nopush on;',
    '  keepalive_requests 10000000;',
    '  client_max_body_size 0;',
    `  client_body_temp_path ${join(dir, 'body')};`,
    '  default_type application/octet-stream;',
    '  server {',
    `    listen 127.0.0.1:${port};`,
    `    root ${docRoot};`,
    '    location = /trivial { return 200 "{}"; }',
    '    location = /sink { return 201; }',
    '  }',
    '}',
    '',
  ].join('\n');
  await writeFile(configFile, config);
  return launch({
    key: 'nginx',
    label: 'nginx',
    command: 'nginx',
    args: ['-c', configFile, '-p', dir],
    port,
    root: docRoot,
    configFile,
    readyPath: '/trivial',
  });
}
