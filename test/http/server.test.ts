import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { startRegistry } from '../../src/main.js';
import { startTestRegistry, type TestRegistry } from '../helpers/server.js';

const digest = `sha256:${'0'.repeat(64)}`;

describe('http section of the configuration', () => {
  const running: TestRegistry[] = [];
  after(async () => {
    for (const r of running) await r.stop();
  });
  const start = async (env: Record<string, string>): Promise<TestRegistry> => {
    const r = await startTestRegistry({ env });
    running.push(r);
    return r;
  };

  test('with a prefix the API lives under it, and Location headers carry it', async () => {
    const r = await start({ REGISTRY_HTTP_PREFIX: '/reg/' });
    assert.equal((await fetch(`${r.url}/reg/v2/`)).status, 200);
    assert.equal((await fetch(`${r.url}/v2/`)).status, 404);
    const res = await fetch(`${r.url}/reg/v2/p/q/blobs/uploads/`, { method: 'POST' });
    assert.equal(res.status, 202);
    assert.match(
      res.headers.get('location') ?? '',
      /^http:\/\/127\.0\.0\.1:\d+\/reg\/v2\/p\/q\/blobs\/uploads\//,
    );
  });

  test('relativeurls gives Location headers without scheme and host', async () => {
    const r = await start({ REGISTRY_HTTP_RELATIVEURLS: 'true' });
    const res = await fetch(`${r.url}/v2/p/q/blobs/uploads/`, { method: 'POST' });
    assert.match(res.headers.get('location') ?? '', /^\/v2\/p\/q\/blobs\/uploads\//);
  });

  test('http.host is the base of Location headers', async () => {
    const r = await start({ REGISTRY_HTTP_HOST: 'https://registry.example.test' });
    const res = await fetch(`${r.url}/v2/p/q/blobs/uploads/`, { method: 'POST' });
    assert.match(
      res.headers.get('location') ?? '',
      /^https:\/\/registry\.example\.test\/v2\/p\/q\//,
    );
  });

  test('X-Forwarded-Proto and X-Forwarded-Host shape Location behind a proxy', async () => {
    const r = await start({});
    const res = await fetch(`${r.url}/v2/p/q/blobs/uploads/`, {
      method: 'POST',
      headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'front.example.test' },
    });
    assert.match(res.headers.get('location') ?? '', /^https:\/\/front\.example\.test\/v2\//);
  });

  test('configured headers are added to every response, errors included', async () => {
    const r = await start({ 'REGISTRY_HTTP_HEADERS_X-CONTENT-TYPE-OPTIONS': '[nosniff]' });
    const ok = await fetch(`${r.url}/v2/`);
    const missing = await fetch(`${r.url}/v2/p/q/blobs/${digest}`);
    assert.equal(missing.status, 404);
    for (const res of [ok, missing]) {
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
    }
  });

  test('the gateway can be turned off, and uWebSockets.js then owns the port', async () => {
    const r = await start({ REGISTRY_HTTP_GATEWAY: 'false' });
    const res = await fetch(`${r.url}/v2/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('uwebsockets'), '20');
  });
});

test('net unix serves the API on a unix socket', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-unix-'));
  const socketPath = join(dir, 'berth.sock');
  const { config } = await loadConfig(
    undefined,
    {
      REGISTRY_HTTP_NET: 'unix',
      REGISTRY_HTTP_ADDR: socketPath,
      REGISTRY_STORAGE: 'inmemory',
      REGISTRY_HTTP_SECRET: 'unix-test',
    },
    dir,
  );
  const registry = await startRegistry(config, { log: pino({ level: 'silent' }), shards: 1 });
  try {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({ socketPath, path: '/v2/', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 200);
  } finally {
    await registry.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
