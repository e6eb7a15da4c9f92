import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { pino } from 'pino';
import { InMemoryDriver } from '../../src/drivers/inmemory/index.js';
import { AwsIpRanges } from '../../src/drivers/middleware/aws-ip-ranges.js';
import { applyStorageMiddleware } from '../../src/drivers/middleware/index.js';
import { OTHER_RANGES, RANGES, RangesServer } from '../helpers/ip-ranges.js';
import { startRadosgw, type Radosgw } from '../helpers/radosgw.js';
import { pushBlob, startTestRegistry, type TestRegistry } from '../helpers/server.js';

/** A logger whose warnings are kept in `warnings` (their `msg`). */
function recordingLogger(): { log: pino.Logger; warnings: string[] } {
  const warnings: string[] = [];
  const stream = {
    write(line: string): void {
      const entry = JSON.parse(line) as { level: number; msg: string };
      if (entry.level === 40) warnings.push(entry.msg);
    },
  };
  return { log: pino({ level: 'info' }, stream), warnings };
}

/** Polls `check` until it holds, for at most `ms`. */
async function eventually(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) assert.fail('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('AWS IP ranges', () => {
  const server = new RangesServer();
  const started: AwsIpRanges[] = [];
  before(() => server.listen());
  after(async () => {
    for (const ranges of started) ranges.stop();
    await server.close();
  });
  beforeEach(() => {
    server.reply = (res) => server.json(res, RANGES);
  });

  function ranges(regions: string[] = [], extra: { updateMs?: number; timeoutMs?: number } = {}) {
    const { log, warnings } = recordingLogger();
    const made = new AwsIpRanges(
      { url: server.url, regions, updateMs: extra.updateMs ?? 3_600_000, ...extra },
      log,
    );
    started.push(made);
    return { ranges: made, warnings };
  }

  test('hold every prefix of both families when not filtered by region', async () => {
    const { ranges: r } = ranges();
    assert.equal(await r.refresh(), true);
    for (const ip of ['192.0.2.77', '198.51.100.1', '2001:db8:1::5', '2001:db8:2:ffff::1']) {
      assert.equal(r.contains(ip), true, ip);
    }
    for (const ip of ['203.0.113.1', '2001:db8:3::1', '10.0.0.1', 'not-an-ip', '']) {
      assert.equal(r.contains(ip), false, ip);
    }
    // uWS spells IPv6 peers out in full; a dual-stack socket maps IPv4 into IPv6.
    assert.equal(r.contains('2001:0db8:0001:0000:0000:0000:0000:0001'), true);
    assert.equal(r.contains('::ffff:192.0.2.1'), true);
  });

  test('with regions hold only those regions, compared without case', async () => {
    const { ranges: r } = ranges(['us-east-1']);
    assert.equal(await r.refresh(), true);
    assert.equal(r.contains('192.0.2.1'), true);
    assert.equal(r.contains('2001:db8:1::1'), true);
    assert.equal(r.contains('198.51.100.1'), false);
    assert.equal(r.contains('2001:db8:2::1'), false);
  });

  test('contain nobody until a fetch succeeds, and log the failure', async () => {
    server.reply = (res) => res.writeHead(503).end('slow down');
    const { ranges: r, warnings } = ranges();
    assert.equal(await r.refresh(), false);
    assert.equal(r.loaded, false);
    assert.equal(r.contains('192.0.2.1'), false);
    assert.deepEqual(warnings, ['aws ip ranges not updated, keeping the last set']);
  });

  test('a refresh replaces the whole set', async () => {
    const { ranges: r } = ranges();
    assert.equal(await r.refresh(), true);
    server.reply = (res) => server.json(res, OTHER_RANGES);
    assert.equal(await r.refresh(), true);
    assert.equal(r.contains('203.0.113.9'), true);
    assert.equal(r.contains('192.0.2.1'), false);
    assert.equal(r.contains('2001:db8:1::1'), false);
  });

  const failures: [string, (res: http.ServerResponse) => void][] = [
    ['an error status', (res) => res.writeHead(500).end()],
    ['a body that is not JSON', (res) => res.writeHead(200).end('<html>')],
    ['JSON that is no ranges document', (res) => server.json(res, { prefixes: 'none' })],
    ['a truncated document', (res) => res.writeHead(200).end('{"prefixes": [')],
    ['no answer within the timeout', () => undefined],
  ];
  for (const [name, reply] of failures) {
    test(`a failed fetch (${name}) keeps the last good set`, async () => {
      const { ranges: r, warnings } = ranges([], { timeoutMs: 300 });
      assert.equal(await r.refresh(), true);
      server.reply = reply;
      assert.equal(await r.refresh(), false);
      assert.equal(r.contains('192.0.2.1'), true);
      assert.equal(r.contains('2001:db8:2::1'), true);
      assert.equal(warnings.length, 1);
    });
  }

  test('unreadable prefixes are skipped with one warning, the rest kept', async () => {
    server.reply = (res) =>
      server.json(res, {
        prefixes: [
          { ip_prefix: '192.0.2.0/24', region: 'us-east-1' },
          { ip_prefix: '10.0.0.0/', region: 'us-east-1' },
          { ip_prefix: '10.0.0.0/33', region: 'us-east-1' },
          { ip_prefix: 'nonsense', region: 'us-east-1' },
          { region: 'us-east-1' },
        ],
        ipv6_prefixes: [{ ipv6_prefix: '192.0.2.0/24', region: 'us-east-1' }],
      });
    const { ranges: r, warnings } = ranges();
    assert.equal(await r.refresh(), true);
    assert.equal(r.contains('192.0.2.1'), true);
    assert.equal(r.contains('10.1.2.3'), false);
    assert.deepEqual(warnings, ['aws ip ranges: unreadable prefixes skipped']);
  });

  test('short prefixes match across first bytes and groups, repeated ones count once', async () => {
    server.reply = (res) =>
      server.json(res, {
        prefixes: [
          { ip_prefix: '64.0.0.0/3', region: 'us-east-1' },
          { ip_prefix: '192.0.2.0/24', region: 'us-east-1', service: 'AMAZON' },
          { ip_prefix: '192.0.2.0/24', region: 'us-east-1', service: 'EC2' },
        ],
        ipv6_prefixes: [{ ipv6_prefix: '2400::/6', region: 'us-east-1' }],
      });
    const { ranges: r } = ranges();
    assert.equal(await r.refresh(), true);
    for (const ip of ['64.1.1.1', '95.255.0.1', '192.0.2.200', '2400::1', '27ff:ffff::1']) {
      assert.equal(r.contains(ip), true, ip);
    }
    for (const ip of ['96.0.0.1', '63.255.255.255', '2800::1', '23ff::1']) {
      assert.equal(r.contains(ip), false, ip);
    }
  });

  test('start fetches at once and every update period, stop ends it', async () => {
    const { ranges: r } = ranges([], { updateMs: 50 });
    const before = server.requests;
    r.start();
    await eventually(() => r.contains('192.0.2.1'));
    server.reply = (res) => server.json(res, OTHER_RANGES);
    await eventually(() => r.contains('203.0.113.1') && !r.contains('192.0.2.1'));
    assert.ok(server.requests - before >= 2);
    r.stop();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const stopped = server.requests;
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(server.requests, stopped);
  });
});

describe('the cloudfront middleware filtered by AWS IP', () => {
  const server = new RangesServer();
  let dir = '';
  let keyFile = '';
  before(async () => {
    await server.listen();
    dir = await mkdtemp(join(tmpdir(), 'berth-cf-'));
    keyFile = join(dir, 'cf.pem');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(keyFile, privateKey.export({ type: 'pkcs1', format: 'pem' }));
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** An in-memory driver with the s3 driver's keys and presigned-looking URLs. */
  class PresigningDriver extends InMemoryDriver {
    override async redirectURL(method: 'GET' | 'HEAD', path: string): Promise<string | null> {
      return `https://bucket.s3.test${path}?X-Amz-Signature=${method}`;
    }

    s3Key(path: string): string {
      return path.slice(1);
    }
  }

  function cloudfront(extra: Record<string, unknown>) {
    return applyStorageMiddleware(new PresigningDriver(), [
      {
        name: 'cloudfront',
        options: {
          baseurl: 'https://d111.cf.test/',
          privatekey: keyFile,
          keypairid: 'KP1',
          iprangesurl: server.url,
          ...extra,
        },
      },
    ]);
  }

  const path = '/docker/registry/v2/blobs/sha256/ab/abcd/data';
  const isCloudfront = (url: string | null): boolean =>
    url?.startsWith(`https://d111.cf.test${path}?Expires=`) ?? false;

  test('aws: a client inside the ranges gets the driver URL, any other CloudFront', async () => {
    const mw = cloudfront({ ipfilteredby: 'aws' });
    // Before the first fetch, nobody is inside.
    assert.ok(isCloudfront(await mw.driver.redirectURL('GET', path, '192.0.2.1')));
    mw.start();
    try {
      await eventually(
        async () => !isCloudfront(await mw.driver.redirectURL('GET', path, '192.0.2.1')),
      );
      const inside = `https://bucket.s3.test${path}?X-Amz-Signature=HEAD`;
      assert.equal(await mw.driver.redirectURL('HEAD', path, '192.0.2.1'), inside);
      assert.equal(await mw.driver.redirectURL('HEAD', path, '2001:db8:2::9'), inside);
      assert.ok(isCloudfront(await mw.driver.redirectURL('GET', path, '203.0.113.1')));
      assert.ok(isCloudfront(await mw.driver.redirectURL('GET', path)));
    } finally {
      mw.stop();
    }
  });

  test('awsregion: only the listed regions get the driver URL', async () => {
    const mw = cloudfront({ ipfilteredby: 'awsregion', awsregion: 'eu-west-1, ap-south-1' });
    mw.start();
    try {
      await eventually(
        async () => !isCloudfront(await mw.driver.redirectURL('GET', path, '198.51.100.7')),
      );
      assert.ok(!isCloudfront(await mw.driver.redirectURL('GET', path, '2001:db8:2::1')));
      assert.ok(isCloudfront(await mw.driver.redirectURL('GET', path, '192.0.2.1')));
      assert.ok(isCloudfront(await mw.driver.redirectURL('GET', path, '2001:db8:1::1')));
    } finally {
      mw.stop();
    }
  });

  test('none fetches nothing and signs for everyone', async () => {
    const before = server.requests;
    const mw = cloudfront({ ipfilteredby: 'none' });
    mw.start();
    assert.ok(isCloudfront(await mw.driver.redirectURL('GET', path, '192.0.2.1')));
    mw.stop();
    assert.equal(server.requests, before);
  });
});

describe('a registry with cloudfront filtered by AWS IP', () => {
  const server = new RangesServer();
  let rgw: Radosgw | undefined;
  let dir = '';
  let reg: TestRegistry;
  let direct: TestRegistry;
  let digest = '';
  const rootdirectory = `/berth-cf-${process.pid}`;
  before(async () => {
    await server.listen();
    rgw = await startRadosgw();
    dir = await mkdtemp(join(tmpdir(), 'berth-cf-'));
    const keyFile = join(dir, 'cf.pem');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(keyFile, privateKey.export({ type: 'pkcs1', format: 'pem' }));
    const middleware = JSON.stringify([
      {
        name: 'cloudfront',
        options: {
          baseurl: 'https://d111.cf.test/',
          privatekey: keyFile,
          keypairid: 'KP1',
          ipfilteredby: 'aws',
          iprangesurl: server.url,
        },
      },
    ]);
    // The s3 driver on the gateway (CloudFront fronts S3 keys only), configured by variables.
    const env: Record<string, string> = {
      REGISTRY_STORAGE: 's3',
      REGISTRY_MIDDLEWARE_STORAGE: middleware,
    };
    for (const [name, value] of Object.entries(rgw.params(rootdirectory))) {
      env[`REGISTRY_STORAGE_S3_${name.toUpperCase()}`] = String(value);
    }
    reg = await startTestRegistry({ env });
    digest = await pushBlob(reg.url, 'cf/app', 'layer bytes');
    // Same storage, no push: a keep-alive connection would outlive a gateway-less stop().
    direct = await startTestRegistry({ env: { ...env, REGISTRY_HTTP_GATEWAY: 'false' } });
    for (const r of [reg, direct]) {
      await eventually(async () =>
        isStorageUrl(await locate(r, { 'X-Forwarded-For': '192.0.2.1' })),
      );
    }
  });
  after(async () => {
    await reg?.stop();
    await direct?.stop();
    await rgw?.stop();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The Location of a blob GET sent with `headers` from `localAddress`. */
  function locate(
    r: TestRegistry,
    headers: Record<string, string>,
    localAddress = '127.0.0.1',
  ): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = http.get(
        `${r.url}/v2/cf/app/blobs/${digest}`,
        { headers, localAddress, agent: false },
        (res) => {
          res.resume();
          if (res.statusCode === 307) resolve(res.headers.location ?? '');
          else reject(new Error(`expected 307, got ${res.statusCode}`));
        },
      );
      req.on('error', reject);
    });
  }

  /** The blob's S3 key: `rootdirectory` (no leading slash), then the storage path. */
  const blobKey = (): string => {
    const hex = digest.slice(7);
    const path = `/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
    return `${rootdirectory.slice(1)}${path}`;
  };
  /** Whether `url` is the s3 driver's presigned URL of the blob, on the gateway. */
  const isStorageUrl = (url: string): boolean =>
    rgw !== undefined &&
    url.startsWith(`${rgw.endpoint}/${rgw.bucket}/${blobKey()}?`) &&
    url.includes('X-Amz-Signature=');
  /** Whether `url` is a signed CloudFront URL of the blob's key, `rootdirectory` included. */
  const isCloudfrontUrl = (url: string): boolean =>
    url.startsWith(`https://d111.cf.test/${blobKey()}?Expires=`) && url.includes('Signature=');

  test('X-Forwarded-For inside the ranges gets the storage URL, outside CloudFront', async () => {
    assert.ok(isStorageUrl(await locate(reg, { 'X-Forwarded-For': '192.0.2.1, 203.0.113.1' })));
    const outside = await locate(reg, { 'X-Forwarded-For': '203.0.113.1, 192.0.2.1' });
    assert.ok(isCloudfrontUrl(outside), outside);
  });

  test('the storage URL answers with the blob', async () => {
    const res = await fetch(await locate(reg, { 'X-Forwarded-For': '192.0.2.1' }));
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'layer bytes');
  });

  test('X-Real-IP counts when X-Forwarded-For is absent', async () => {
    assert.ok(isStorageUrl(await locate(reg, { 'X-Real-IP': '2001:db8:1::1' })));
    assert.ok(isCloudfrontUrl(await locate(reg, { 'X-Real-IP': '2001:db8:3::1' })));
  });

  test('without headers the peer decides, through the gateway as without it', async () => {
    for (const r of [reg, direct]) {
      assert.ok(isStorageUrl(await locate(r, {}, '127.0.0.3')));
      assert.ok(isCloudfrontUrl(await locate(r, {}, '127.0.0.1')));
    }
  });
});
