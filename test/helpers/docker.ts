/**
 * A private Docker daemon for tests: Debian's `dockerd` (docker.io) on its own unix socket,
 * with its own containerd, data root, exec root, pid file and trust key, all in one
 * temporary directory. It never uses /var/run/docker.sock, /var/lib/docker, /etc/docker or
 * the host's containerd (dockerd 20.10 would use a system containerd whose socket is at the
 * default address, so a private one is started and passed with `--containerd`). The trust
 * key goes to the temporary directory through daemon.json `deprecated-key-path` (otherwise
 * dockerd 20.10 writes /etc/docker/key.json). dockerd may still create the empty plugin
 * discovery directory /run/docker/plugins, whose path is hard-coded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutputTail, stopChild } from './registry.js';
import { requireTool, run, type RunResult } from './tools.js';

/** A Docker daemon started by {@link startDockerd}. */
export interface RunningDocker {
  /** `unix://...` address of the daemon's API socket. */
  host: string;
  /** Process id of dockerd. */
  pid: number;
  /** Runs the Docker client (`/usr/bin/docker` of docker.io) against this daemon. */
  docker(args: readonly string[], timeoutMs?: number): Promise<RunResult>;
  /** Output of dockerd and containerd (last ~64 KiB each), for error messages. */
  logs(): string;
  /** Stops dockerd, then containerd, unmounts leftovers and removes the directory. */
  stop(): Promise<void>;
}

/** Options of {@link startDockerd}. */
export interface DockerdOptions {
  /** `host:port` of plain-HTTP registries (`--insecure-registry`). */
  insecureRegistries: string[];
  /** How long to wait for the daemon's `/_ping`; default 30 000 ms. */
  readyTimeoutMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** GET /_ping over a unix socket; resolves to the status code or an error text. */
function ping(socketPath: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 1_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve(err.message));
    req.end();
  });
}

/** Lazily unmounts every mount point below `dir` (deepest first). */
async function unmountBelow(dir: string): Promise<void> {
  const mounts = (await readFile('/proc/self/mounts', 'utf8'))
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of mounts) {
    await run('umount', ['-l', point]).catch(() => undefined);
  }
}

function spawnLogged(command: string, args: string[], output: OutputTail): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (c: Buffer) => output.push(c));
  child.stderr?.on('data', (c: Buffer) => output.push(c));
  child.on('error', (err) => output.push(Buffer.from(`spawn error: ${err.message}\n`)));
  return child;
}

const alive = (child: ChildProcess): boolean =>
  child.exitCode === null && child.signalCode === null;

/**
 * Starts containerd and dockerd in a fresh temporary directory and waits until the Docker
 * API answers `/_ping`.
 *
 * @throws Error with both daemons' output if either cannot be started, so that a machine
 *   where dockerd cannot run fails the test with the reason.
 */
export async function startDockerd(opts: DockerdOptions): Promise<RunningDocker> {
  const dockerd = requireTool('dockerd', 'docker.io');
  const containerd = requireTool('containerd', 'containerd');
  const client = requireTool(
    existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker',
    'docker.io',
  );

  const dir = await mkdtemp(join(tmpdir(), 'berth-docker-'));
  const ctrDir = join(dir, 'containerd');
  await mkdir(ctrDir);
  const ctrSocket = join(ctrDir, 'containerd.sock');
  const ctrConfig = join(dir, 'containerd.toml');
  await writeFile(
    ctrConfig,
    [
      'version = 2',
      `root = ${JSON.stringify(join(ctrDir, 'root'))}`,
      `state = ${JSON.stringify(join(ctrDir, 'state'))}`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = ${JSON.stringify(ctrSocket)}`,
      '[ttrpc]',
      `  address = ${JSON.stringify(`${ctrSocket}.ttrpc`)}`,
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = ${JSON.stringify(join(ctrDir, 'opt'))}`,
      '',
    ].join('\n'),
  );
  const daemonJson = join(dir, 'daemon.json');
  await writeFile(daemonJson, JSON.stringify({ 'deprecated-key-path': join(dir, 'key.json') }));
  const clientConfig = join(dir, 'client');
  await mkdir(clientConfig);
  const socket = join(dir, 'docker.sock');
  const host = `unix://${socket}`;

  const ctrOutput = new OutputTail();
  const dockerOutput = new OutputTail();
  const logs = (): string =>
    `--- dockerd ---\n${dockerOutput.text()}\n--- containerd ---\n${ctrOutput.text()}`;
  const ctrChild = spawnLogged(containerd, ['--config', ctrConfig], ctrOutput);
  let dockerChild: ChildProcess | undefined;

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (dockerChild !== undefined) await stopChild(dockerChild, 20_000);
      await stopChild(ctrChild, 10_000);
      await unmountBelow(dir);
      await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  const killOnExit = (): void => {
    for (const child of [dockerChild, ctrChild]) if (child && alive(child)) child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);

  const fail = async (what: string): Promise<never> => {
    const text = logs();
    await stop();
    throw new Error(`${what}\n${text}`);
  };

  try {
    const ctrDeadline = Date.now() + 10_000;
    while (!existsSync(ctrSocket)) {
      if (!alive(ctrChild)) await fail(`containerd exited (code ${String(ctrChild.exitCode)})`);
      if (Date.now() > ctrDeadline) await fail('containerd did not create its socket in 10 s');
      await sleep(50);
    }

    const args = [
      '--config-file',
      daemonJson,
      '--containerd',
      ctrSocket,
      '--bridge=none',
      '--iptables=false',
      '--ip6tables=false',
      '--data-root',
      join(dir, 'data'),
      '--exec-root',
      join(dir, 'exec'),
      '--pidfile',
      join(dir, 'dockerd.pid'),
      '-H',
      host,
      ...opts.insecureRegistries.flatMap((r) => ['--insecure-registry', r]),
    ];
    const child = spawnLogged(dockerd, args, dockerOutput);
    dockerChild = child;
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
    let last: number | string = 'no answer yet';
    for (;;) {
      if (!alive(child)) {
        await fail(
          `dockerd exited before it was ready (code ${String(child.exitCode)}, ` +
            `signal ${String(child.signalCode)}): ${dockerd} ${args.join(' ')}`,
        );
      }
      last = existsSync(socket) ? await ping(socket) : 'no socket yet';
      if (last === 200) break;
      if (Date.now() > deadline) await fail(`dockerd did not answer /_ping in time (${last})`);
      await sleep(100);
    }
  } catch (err) {
    await stop();
    process.off('exit', killOnExit);
    throw err;
  }

  const pid = dockerChild?.pid;
  if (pid === undefined) return fail('dockerd has no pid');
  return {
    host,
    pid,
    docker: (args, timeoutMs = 180_000) =>
      run(client, args, { env: { DOCKER_HOST: host, DOCKER_CONFIG: clientConfig }, timeoutMs }),
    logs,
    stop: async () => {
      await stop();
      process.off('exit', killOnExit);
    },
  };
}
