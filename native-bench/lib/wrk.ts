/**
 * GET load with `wrk` (Debian package `wrk`, one thread): C, epoll, keep-alive, and a
 * latency histogram. A Lua script sets the headers, cycles through the paths, optionally
 * paces each connection, and prints the summary as one JSON line.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** What one wrk run measured; latencies in milliseconds. */
export interface WrkResult {
  requests: number;
  /** Bytes read, including responses still incomplete at the end. */
  bytes: number;
  durationS: number;
  /** Responses with a status outside 200-399. */
  badStatus: number;
  /** Connect, read, write and timeout errors. */
  socketErrors: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
}

/** Options of {@link runWrk}. */
export interface WrkOptions {
  /** `http://127.0.0.1:PORT`. */
  baseUrl: string;
  /** Request paths, used in turn. */
  paths: readonly string[];
  headers?: Record<string, string>;
  connections: number;
  durationS: number;
  /** Milliseconds each connection waits before each request (a paced probe). */
  delayMs?: number;
  /** Folder for the generated Lua script. */
  scriptDir: string;
}

let scripts = 0;

function luaString(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function script(opts: WrkOptions): string {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(opts.headers ?? {})) {
    lines.push(`wrk.headers[${luaString(name)}] = ${luaString(value)}`);
  }
  if (opts.paths.length > 1) {
    lines.push(`local paths = { ${opts.paths.map(luaString).join(', ')} }`);
    lines.push('local i = 0');
    lines.push('request = function() i = i % #paths + 1; return wrk.format(nil, paths[i]) end');
  }
  if (opts.delayMs !== undefined) lines.push(`delay = function() return ${opts.delayMs} end`);
  const fields = [
    ['requests', 's.requests'],
    ['bytes', 's.bytes'],
    ['duration', 's.duration'],
    ['status', 's.errors.status'],
    ['socket', 's.errors.connect + s.errors.read + s.errors.write + s.errors.timeout'],
    ['p50', 'lat:percentile(50)'],
    ['p90', 'lat:percentile(90)'],
    ['p99', 'lat:percentile(99)'],
    ['mean', 'lat.mean'],
  ];
  const format = fields.map(([k]) => `\\"${k ?? ''}\\":%.0f`).join(',');
  const args = fields.map(([, v]) => v ?? '0').join(', ');
  lines.push('done = function(s, lat, req)');
  lines.push(`  io.write(string.format("BENCHJSON {${format}}\\n", ${args}))`);
  lines.push('end');
  return `${lines.join('\n')}\n`;
}

/** Runs wrk once and parses its summary. */
export async function runWrk(opts: WrkOptions): Promise<WrkResult> {
  scripts += 1;
  const file = join(opts.scriptDir, `wrk-${scripts}.lua`);
  await writeFile(file, script(opts));
  const first = opts.paths[0];
  if (first === undefined) throw new Error('wrk needs at least one path');
  const args = [
    '-t1',
    `-c${opts.connections}`,
    `-d${opts.durationS}s`,
    '--timeout',
    '120s',
    '-s',
    file,
    opts.baseUrl + first,
  ];
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (out += t));
    const guard = setTimeout(() => child.kill('SIGKILL'), (opts.durationS + 60) * 1000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      if (code === 0) resolve(out);
      else reject(new Error(`wrk exited with ${String(code)}: ${out.slice(-500)}`));
    });
  });
  const line = output.split('\n').find((l) => l.startsWith('BENCHJSON '));
  if (line === undefined) throw new Error(`wrk printed no summary: ${output.slice(-500)}`);
  const raw = JSON.parse(line.slice('BENCHJSON '.length)) as Record<string, number>;
  const get = (k: string): number => raw[k] ?? 0;
  return {
    requests: get('requests'),
    bytes: get('bytes'),
    durationS: get('duration') / 1e6,
    badStatus: get('status'),
    socketErrors: get('socket'),
    p50: get('p50') / 1000,
    p90: get('p90') / 1000,
    p99: get('p99') / 1000,
    mean: get('mean') / 1000,
  };
}
