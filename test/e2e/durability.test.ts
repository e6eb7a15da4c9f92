/**
 * The data path under stress, against a real Berth process: memory stays bounded during a
 * large streamed upload, SIGTERM lets an upload under way finish, and SIGKILL mid-push loses
 * nothing acknowledged and leaves the upload resumable.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { after, describe, test } from 'node:test';
import { startBerth } from '../helpers/berth.js';
import type { RunningServer } from '../helpers/registry.js';

const MiB = 1 << 20;

/** Resident memory of a process, in bytes (Linux). */
function rss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN) * 1024;
}

interface Sent {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * Sends a request whose body is `chunks` buffers produced one at a time (never all in
 * memory), chunked unless `length` is given. `onChunk` runs after each chunk is accepted.
 */
function send(
  url: string,
  method: string,
  options: {
    chunks?: number;
    chunk?: Buffer;
    length?: number;
    headers?: Record<string, string>;
    onChunk?: (i: number) => Promise<void> | void;
  } = {},
): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.length !== undefined) headers['content-length'] = String(options.length);
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    void (async () => {
      for (let i = 0; i < (options.chunks ?? 0); i++) {
        if (!req.write(options.chunk)) await new Promise((r) => req.once('drain', r));
        await options.onChunk?.(i);
      }
      req.end();
    })().catch(reject);
  });
}

async function startUpload(server: RunningServer, repo: string): Promise<string> {
  const res = await send(`${server.url}/v2/${repo}/blobs/uploads/`, 'POST');
  assert.equal(res.status, 202);
  return new URL(String(res.headers.location), server.url).toString();
}

function withDigest(location: string, digest: string): string {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  return url.toString();
}

describe('the upload data path', { timeout: 240_000 }, () => {
  const servers: RunningServer[] = [];
  after(async () => {
    for (const s of servers) await s.stop();
  });

  test('a 1 GiB streamed upload raises the server memory by a bounded amount', async (t) => {
    const server = await startBerth();
    servers.push(server);
    const chunk = randomBytes(MiB);
    const chunks = 1024;
    const hash = createHash('sha256');
    for (let i = 0; i < chunks; i++) hash.update(chunk);
    const digest = `sha256:${hash.digest('hex')}`;

    // Warm up the pool, the workers and the gateway before the baseline.
    const warm = randomBytes(8 * MiB);
    const warmDigest = `sha256:${createHash('sha256').update(warm).digest('hex')}`;
    const warmUrl = `${server.url}/v2/mem/warm/blobs/uploads/?digest=${warmDigest}`;
    assert.equal(
      (await send(warmUrl, 'POST', { chunks: 1, chunk: warm, length: warm.length })).status,
      201,
    );
    const baseline = rss(server.pid);
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rss(server.pid))), 20);

    const location = await startUpload(server, 'mem/big');
    const patched = await send(location, 'PATCH', { chunks, chunk });
    clearInterval(sampler);
    assert.equal(patched.status, 202, patched.body);
    assert.equal(patched.headers.range, `0-${chunks * MiB - 1}`);
    const done = await send(withDigest(String(patched.headers.location), digest), 'PUT');
    assert.equal(done.status, 201, done.body);

    const grewMiB = (peak - baseline) / MiB;
    t.diagnostic(
      `server RSS grew by ${grewMiB.toFixed(1)} MiB over ${(baseline / MiB).toFixed(0)} MiB`,
    );
    // Unbounded buffering would grow by about the upload (1024 MiB); bounded stays small.
    assert.ok(grewMiB < 64, `server memory grew by ${grewMiB.toFixed(1)} MiB during the upload`);
  });

  test('SIGTERM lets an upload under way finish, then the process exits cleanly', async () => {
    const server = await startBerth();
    servers.push(server);
    const location = await startUpload(server, 'drain/app');
    const chunk = randomBytes(MiB);
    let signalled = false;
    const patched = await send(location, 'PATCH', {
      chunks: 8,
      chunk,
      onChunk: async (i) => {
        if (i !== 2) return;
        // Signal only once the server holds part of this request: a request that has not
        // reached it yet is, rightly, refused by a draining server.
        await waitForUploadBytes(location, MiB);
        process.kill(server.pid, 'SIGTERM');
        signalled = true;
        await new Promise((r) => setTimeout(r, 300));
      },
    });
    assert.ok(signalled);
    assert.equal(patched.status, 202, patched.body);
    assert.equal(patched.headers.range, `0-${8 * MiB - 1}`);
    const exited = await waitForExit(server.pid, 10_000);
    assert.ok(exited, 'the server did not exit after draining');
  });

  test('SIGKILL mid-push loses nothing acknowledged and the upload resumes after restart', async () => {
    const first = await startBerth();
    servers.push(first);
    const root = first.root;

    // An acknowledged blob, then a second one cut off by the kill.
    const kept = randomBytes(3 * MiB);
    const keptDigest = `sha256:${createHash('sha256').update(kept).digest('hex')}`;
    const keptUrl = `${first.url}/v2/crash/app/blobs/uploads/?digest=${keptDigest}`;
    assert.equal(
      (await send(keptUrl, 'POST', { chunks: 1, chunk: kept, length: kept.length })).status,
      201,
    );

    const chunk = randomBytes(MiB);
    const whole = Buffer.concat(Array.from({ length: 16 }, () => chunk));
    const digest = `sha256:${createHash('sha256').update(whole).digest('hex')}`;
    const location = await startUpload(first, 'crash/app');
    const cut = send(location, 'PATCH', {
      chunks: 16,
      chunk,
      onChunk: async (i) => {
        if (i === 5) {
          await new Promise((r) => setTimeout(r, 200));
          process.kill(first.pid, 'SIGKILL');
        }
      },
    }).catch((err: unknown) => err);
    assert.ok((await cut) instanceof Error, 'the request cut off by the kill must fail');
    await waitForExit(first.pid, 5_000);

    const second = await startBerth({ root });
    servers.push(second);
    const head = await fetch(`${second.url}/v2/crash/app/blobs/${keptDigest}`, { method: 'HEAD' });
    assert.equal(head.status, 200, 'an acknowledged blob must survive the kill');
    const missing = await fetch(`${second.url}/v2/crash/app/blobs/${digest}`, { method: 'HEAD' });
    assert.equal(missing.status, 404, 'a blob cut off mid-push must not be visible');

    // Resume on the new process from where storage says the upload ends.
    const path = new URL(location);
    const resumed = `${second.url}${path.pathname}${path.search}`;
    const status = await fetch(resumed);
    assert.equal(status.status, 204);
    const end = Number(/^0-(\d+)$/.exec(status.headers.get('range') ?? '')?.[1] ?? NaN);
    const offset = end === 0 && status.headers.get('range') === '0-0' ? 0 : end + 1;
    assert.ok(offset >= 0 && offset <= whole.length, `bad offset ${offset}`);
    const rest = whole.subarray(offset);
    const patch = await send(resumed, 'PATCH', {
      chunks: rest.length > 0 ? 1 : 0,
      chunk: rest,
      length: rest.length,
      headers: rest.length > 0 ? { 'content-range': `${offset}-${whole.length - 1}` } : {},
    });
    assert.equal(patch.status, 202, patch.body);
    const done = await send(
      withDigest(new URL(String(patch.headers.location), second.url).toString(), digest),
      'PUT',
    );
    assert.equal(done.status, 201, done.body);
    const back = Buffer.from(
      await (await fetch(`${second.url}/v2/crash/app/blobs/${digest}`)).arrayBuffer(),
    );
    assert.ok(back.equals(whole), 'the resumed blob must read back byte for byte');
  });
});

/** Polls the upload's status until the server reports at least `bytes` received. */
async function waitForUploadBytes(location: string, bytes: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const res = await fetch(location);
    const end = Number(/^0-(\d+)$/.exec(res.headers.get('range') ?? '')?.[1] ?? -1);
    if (end + 1 >= bytes) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the server never reported ${bytes} bytes of the upload`);
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
