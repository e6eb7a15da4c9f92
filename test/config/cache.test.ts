import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import type { RedisConfig } from '../../src/config/types.js';
import { redisConnection } from '../../src/core/cache/factory.js';

const CWD = '/srv/berth';
const MINIMAL = 'version: 0.1\nstorage:\n  inmemory:\n';

const made: string[] = [];
after(() => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))));

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-cache-config-'));
  made.push(dir);
  return dir;
}

async function load(text: string, env: NodeJS.ProcessEnv = {}) {
  const file = join(await tempDir(), 'config.yml');
  await writeFile(file, text);
  return loadConfig(file, { REGISTRY_HTTP_SECRET: 'test', ...env }, CWD);
}

async function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const err = await load(text, env).then(
    () => assert.fail('expected a ConfigError'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConfigError);
  return err.problems;
}

test('without storage.cache only sizes are cached and nothing is reported', async () => {
  const { config, warnings } = await load(MINIMAL);
  assert.deepEqual(config.storage.cache, { kind: 'none', size: 10_000 });
  assert.deepEqual(warnings, []);
});

test('the inmemory cache holds 10000 descriptors unless blobdescriptorsize says otherwise', async () => {
  const cache = `${MINIMAL}  cache:\n    blobdescriptor: inmemory\n`;
  assert.deepEqual((await load(cache)).config.storage.cache, { kind: 'inmemory', size: 10_000 });
  const sized = await load(`${cache}    blobdescriptorsize: 0\n`);
  assert.deepEqual(sized.config.storage.cache, { kind: 'inmemory', size: 0 });
  assert.deepEqual(sized.warnings, []);
});

test('layerinfo is read as blobdescriptor, with a deprecation warning', async () => {
  const { config, warnings } = await load(`${MINIMAL}  cache:\n    layerinfo: inmemory\n`);
  assert.equal(config.storage.cache.kind, 'inmemory');
  assert.deepEqual(warnings, [
    'storage.cache.layerinfo: deprecated, use storage.cache.blobdescriptor',
  ]);
});

test('a redis cache without redis.addr is refused, naming the key', async () => {
  const cache = `${MINIMAL}  cache:\n    blobdescriptor: redis\n`;
  assert.deepEqual(await problemsOf(cache), [
    'redis.addr: required when storage.cache.blobdescriptor is redis',
  ]);
  assert.deepEqual(await problemsOf(`${cache}redis:\n  db: 1\n`), [
    'redis.addr: required when storage.cache.blobdescriptor is redis',
  ]);
  assert.deepEqual(await problemsOf(MINIMAL, { REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR: 'redis' }), [
    'redis.addr: required when storage.cache.blobdescriptor is redis',
  ]);
});

test('the redis section is read from the file with the reference key names', async () => {
  const { config, warnings } = await load(
    `${MINIMAL}  cache:\n    blobdescriptor: redis\n` +
      'redis:\n  addr: cache.internal:6380\n  username: berth\n  password: 12345\n  db: 2\n' +
      '  dialtimeout: 10ms\n  readtimeout: 1s\n  writetimeout: 500000000\n' +
      '  pool:\n    maxidle: 16\n    maxactive: 64\n    idletimeout: 300s\n' +
      '  tls:\n    certificate: tls/client.pem\n    key: tls/client.key\n' +
      '    clientcas: [tls/ca.pem]\n    rootcas: [/etc/ca.pem]\n',
  );
  const expected: RedisConfig = {
    addr: 'cache.internal:6380',
    username: 'berth',
    password: '12345',
    db: 2,
    dialtimeoutMs: 10,
    readtimeoutMs: 1_000,
    writetimeoutMs: 500,
    pool: { maxidle: 16, maxactive: 64, idletimeoutMs: 300_000 },
    tls: {
      certificate: '/srv/berth/tls/client.pem',
      key: '/srv/berth/tls/client.key',
      cas: ['/srv/berth/tls/ca.pem', '/etc/ca.pem'],
    },
  };
  assert.deepEqual(config.storage.cache, { kind: 'redis', size: 10_000, redis: expected });
  assert.deepEqual(warnings, [
    'redis.pool: Berth uses one pipelined connection per process, ignored',
  ]);
});

test('REGISTRY_REDIS_* variables configure Redis, keeping a password as text', async () => {
  const { config } = await load(MINIMAL, {
    REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR: 'redis',
    REGISTRY_REDIS_ADDR: '127.0.0.1:6379',
    REGISTRY_REDIS_PASSWORD: '0123',
    REGISTRY_REDIS_TLS_ENABLED: 'true',
  });
  assert.equal(config.storage.cache.redis?.addr, '127.0.0.1:6379');
  assert.equal(config.storage.cache.redis?.password, '0123');
  assert.deepEqual(config.storage.cache.redis?.tls, { certificate: null, key: null, cas: [] });
});

test('a one-address addrs list (the reference 3.x form) is the address', async () => {
  const { config } = await load(
    `${MINIMAL}  cache:\n    blobdescriptor: redis\nredis:\n  addrs: [redis:6379]\n`,
  );
  assert.equal(config.storage.cache.redis?.addr, 'redis:6379');
  assert.equal(config.storage.cache.redis?.tls, null);
});

test('bad redis settings are refused, each naming its key', async () => {
  const problems = await problemsOf(
    `${MINIMAL}  cache:\n    blobdescriptor: memcached\n    blobdescriptorsize: -1\n` +
      'redis:\n  addr: localhost\n  addrs: [a:1, b:2]\n  readtimeout: soon\n  db: one\n' +
      '  tls:\n    certificate: c.pem\n  sentinel: x\n',
  );
  assert.deepEqual(problems.sort(), [
    'redis.addr: expected host:port',
    'redis.addrs: Berth connects to one Redis server; a cluster or sentinel list is not supported',
    'redis.db: expected integer >= 0',
    'redis.readtimeout: expected a non-negative duration such as 100ms or 5s',
    'redis.sentinel: unknown key',
    'redis.tls: expected a key with the certificate (mutual TLS needs both)',
    'storage.cache.blobdescriptor: expected inmemory or redis',
    'storage.cache.blobdescriptorsize: expected integer >= 0',
  ]);
});

test('settings that have no effect are reported', async () => {
  const redisUnused = await load(
    `${MINIMAL}  cache:\n    blobdescriptor: inmemory\nredis:\n  addr: localhost:6379\n`,
  );
  assert.equal(redisUnused.config.storage.cache.redis, undefined);
  assert.deepEqual(redisUnused.warnings, [
    'redis: only used when storage.cache.blobdescriptor is redis, ignored',
  ]);
  const sizeUnused = await load(
    `${MINIMAL}  cache:\n    blobdescriptor: redis\n    blobdescriptorsize: 5\n` +
      'redis:\n  addr: localhost:6379\n',
  );
  assert.deepEqual(sizeUnused.warnings, [
    'storage.cache.blobdescriptorsize: only used by the inmemory cache, ignored',
  ]);
});

const baseRedis: RedisConfig = {
  addr: ':6380',
  username: '',
  password: '',
  db: 3,
  dialtimeoutMs: 0,
  readtimeoutMs: 0,
  writetimeoutMs: 0,
  pool: { maxidle: 0, maxactive: 0, idletimeoutMs: 0 },
  tls: null,
};

test('redis settings map onto ioredis options, with short timeouts by default', async () => {
  assert.deepEqual(await redisConnection(baseRedis), {
    host: 'localhost',
    port: 6380,
    db: 3,
    connectTimeout: 5_000,
    commandTimeout: 250,
  });
  const timed = await redisConnection({
    ...baseRedis,
    addr: '[::1]:6379',
    username: 'u',
    password: 'p',
    dialtimeoutMs: 10,
    readtimeoutMs: 20,
    writetimeoutMs: 30,
  });
  assert.equal(timed.host, '::1');
  assert.equal(timed.connectTimeout, 10);
  assert.equal(timed.commandTimeout, 30);
  assert.equal(timed.username, 'u');
  assert.equal(timed.password, 'p');
});

test('redis TLS files are read at start, and a missing one names its key', async () => {
  const dir = await tempDir();
  await writeFile(join(dir, 'cert.pem'), 'CERT');
  await writeFile(join(dir, 'key.pem'), 'KEY');
  await writeFile(join(dir, 'ca.pem'), 'CA');
  const tls = { certificate: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), cas: [] };
  const connection = await redisConnection({
    ...baseRedis,
    tls: { ...tls, cas: [join(dir, 'ca.pem')] },
  });
  assert.deepEqual(connection.tls, {
    cert: Buffer.from('CERT'),
    key: Buffer.from('KEY'),
    ca: [Buffer.from('CA')],
  });
  assert.deepEqual(
    (await redisConnection({ ...baseRedis, tls: { ...tls, certificate: null, key: null } })).tls,
    {},
  );
  await assert.rejects(
    redisConnection({ ...baseRedis, tls: { ...tls, key: join(dir, 'missing.pem') } }),
    /^Error: redis\.tls\.key: cannot read .*missing\.pem \(ENOENT\)$/,
  );
});
