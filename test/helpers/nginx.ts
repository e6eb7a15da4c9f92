/**
 * Debian's nginx as a round-robin reverse proxy in front of several registry processes, the
 * way replicas are run in production: its own prefix, configuration, PID file, logs and
 * temporary folders in one temporary directory, in the foreground, on 127.0.0.1 only.
 *
 * A missing nginx is a failure naming the `apt-get` line, never a skip.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { OutputTail, stopChild } from './registry.js';
import { requireTool } from './tools.js';
import { trackChild, trackDir, untrackDir } from './leftovers.js';

/** One line of the proxy's access log. */
export interface ProxiedRequest {
  method: string;
  /** Path and query as the client sent them. */
  uri: string;
  /** Status the client got. */
  status: number;
  /**
   * Every upstream nginx tried, in order (`127.0.0.1:PORT`); more than one when it went on
   * to the next after an error, none when it answered by itself.
   */
  upstreams: string[];
}

/** A running nginx. */
export interface RunningNginx {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** `127.0.0.1:PORT`, as used in image references. */
  hostPort: string;
  port: number;
  pid: number;
  /** The requests it has finished so far, oldest first. */
  requests(): Promise<ProxiedRequest[]>;
  /** Its error log and console output, for failure messages. */
  logs(): Promise<string>;
  /** Stops it (by PID: SIGTERM, then SIGKILL) and removes the temporary directory. */
  stop(): Promise<void>;
}

/** Options of {@link startNginx}. */
export interface NginxOptions {
  /** `host:port` of every upstream server, balanced round robin. */
  upstreams: readonly string[];
}

/**
 * The configuration: what `examples/nginx.conf` recommends, with every path in `dir`.
 * Fields of the access log are separated by tabs, which no request line contains.
 * Connections to the replicas are kept alive (`keepalive` with an empty `Connection`), so
 * that one carries many requests of different kinds, HEADs between PATCHes included.
 */
export function nginxConfig(dir: string, port: number, upstreams: readonly string[]): string {
  const servers = upstreams.map((u) => `    server ${u};`).join('\n');
  // A master started by root hands its workers to "nobody", who could not write the private
  // temporary folders; under root they keep root's identity instead.
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  return `${user}daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;

events {
  worker_connections 1024;
}

http {
  log_format replicas '$request_method\\t$request_uri\\t$status\\t$upstream_addr';
  access_log ${dir}/access.log replicas;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;

  upstream berth {
${servers}
    keepalive 16;
  }

  server {
    listen 127.0.0.1:${port};
    client_max_body_size 0;

    location / {
      proxy_pass http://berth;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_request_buffering off;
      proxy_buffering off;
      proxy_next_upstream error timeout;
      proxy_read_timeout 900s;
      proxy_send_timeout 900s;
    }
  }
}
`;
}

/** Parses the access log written with the `replicas` format of {@link nginxConfig}. */
function parseAccessLog(text: string): ProxiedRequest[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [method = '', uri = '', status = '0', upstream = '-'] = line.split('\t');
      // "$upstream_addr" lists the servers tried, "a, b", or "-" when none was.
      const upstreams = upstream === '-' ? [] : upstream.split(/,\s*/);
      return { method, uri, status: Number(status), upstreams };
    });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Starts `nginx` in the foreground in front of `upstreams` and waits until it answers.
 *
 * @throws Error with the `apt-get install` line when nginx is missing, or with its error log
 *   when it exits or does not answer within 10 s.
 */
export async function startNginx(opts: NginxOptions): Promise<RunningNginx> {
  const binary = requireTool('nginx', 'nginx');
  const dir = await mkdtemp(join(tmpdir(), 'berth-nginx-'));
  trackDir(dir);
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  await writeFile(conf, nginxConfig(dir, port, opts.upstreams));

  // `-e` moves the log nginx opens before it has read its configuration out of /var/log.
  const output = new OutputTail();
  const child = spawn(binary, ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackChild(child);
  child.stdout?.on('data', (c: Buffer) => output.push(c));
  child.stderr?.on('data', (c: Buffer) => output.push(c));
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await stopChild(child, 3_000);
      await rm(dir, { recursive: true, force: true });
      untrackDir(dir);
    })();
    return stopped;
  };
  const logs = async (): Promise<string> => {
    const errors = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
    return `--- nginx error.log ---\n${errors.slice(-4000)}\n--- nginx output ---\n${output.text()}`;
  };
  const requests = async (): Promise<ProxiedRequest[]> =>
    parseAccessLog(await readFile(join(dir, 'access.log'), 'utf8').catch(() => ''));

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const problem =
      spawnError?.message ??
      (child.exitCode !== null || child.signalCode !== null
        ? `exited (code ${String(child.exitCode)}, signal ${String(child.signalCode)})`
        : undefined);
    if (problem !== undefined || Date.now() > deadline) {
      const tail = await logs();
      await stop();
      throw new Error(`nginx did not start: ${problem ?? 'no answer within 10 s'}\n${tail}`);
    }
    try {
      // Any answer at all, even a 502 from a missing upstream, means nginx is listening.
      const res = await fetch(`${url}/`, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      break;
    } catch {
      await sleep(50);
    }
  }

  if (child.pid === undefined) throw new Error('nginx has no pid');
  return { url, hostPort: `127.0.0.1:${port}`, port, pid: child.pid, requests, logs, stop };
}
