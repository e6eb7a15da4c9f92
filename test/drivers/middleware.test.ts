import assert from 'node:assert/strict';
import { createVerify, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { InMemoryDriver } from '../../src/drivers/inmemory/index.js';
import { applyStorageMiddleware } from '../../src/drivers/middleware/index.js';
import {
  DEFAULT_IP_RANGES_URL,
  parseCloudfrontOptions,
} from '../../src/drivers/middleware/options.js';
import { parseS3Params, S3Driver } from '../../src/drivers/s3/index.js';
import { descriptor, pushBlob, startTestRegistry, type TestRegistry } from '../helpers/server.js';

const blobPath = '/docker/registry/v2/blobs/sha256/ab/abcd/data';

/**
 * An s3 driver on an endpoint nobody listens on: keys and presigned URLs are computed
 * locally, so building URLs needs no server.
 */
function s3Driver(rootdirectory = ''): S3Driver {
  const params = {
    region: 'us-east-1',
    bucket: 'bkt',
    regionendpoint: 'http://127.0.0.1:9',
    accesskey: 'AKIDTEST',
    secretkey: 'secret',
    rootdirectory,
  };
  return new S3Driver(parseS3Params(params));
}

describe('storage middleware', () => {
  let dir = '';
  let keyFile = '';
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-mw-'));
    keyFile = join(dir, 'cf.pem');
    await writeFile(keyFile, privateKey.export({ type: 'pkcs1', format: 'pem' }));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('redirect sends blob reads to the storage path under the proxy host', async () => {
    const { driver } = applyStorageMiddleware(new InMemoryDriver(), [
      { name: 'redirect', options: { baseurl: 'https://cdn.test:5443/ignored/path' } },
    ]);
    assert.equal(await driver.redirectURL('GET', blobPath), `https://cdn.test:5443${blobPath}`);
  });

  test('cloudfront signs a canned policy that the key pair verifies', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { driver } = applyStorageMiddleware(s3Driver(), [
      {
        name: 'cloudfront',
        options: {
          baseurl: 'https://d111.cf.test/prefix/',
          privatekey: keyFile,
          keypairid: 'KP1',
          duration: '300s',
        },
      },
    ]);
    const url = new URL((await driver.redirectURL('GET', blobPath)) ?? '');
    assert.equal(`${url.origin}${url.pathname}`, `https://d111.cf.test/prefix${blobPath}`);
    assert.equal(url.searchParams.get('Key-Pair-Id'), 'KP1');
    const expires = Number(url.searchParams.get('Expires'));
    assert.ok(expires >= before + 299 && expires <= before + 301, `expires ${expires}`);
    const resource = `${url.origin}${url.pathname}`;
    const policy = JSON.stringify({
      Statement: [
        { Resource: resource, Condition: { DateLessThan: { 'AWS:EpochTime': expires } } },
      ],
    });
    const signature = (url.searchParams.get('Signature') ?? '')
      .replace(/-/g, '+')
      .replace(/_/g, '=')
      .replace(/~/g, '/');
    assert.ok(createVerify('RSA-SHA1').update(policy).verify(publicKey, signature, 'base64'));
  });

  test('cloudfront signs the S3 key of the path (rootdirectory first) under baseurl', async () => {
    const options = { privatekey: keyFile, keypairid: 'KP1' };
    const s3 = s3Driver('/some/prefix');
    assert.equal(s3.s3Key(blobPath), `some/prefix${blobPath}`);
    assert.equal(s3Driver('/some/prefix/').s3Key(blobPath), `some/prefix${blobPath}`);
    for (const [baseurl, expected] of [
      ['https://d111.cf.test/', `https://d111.cf.test/some/prefix${blobPath}`],
      ['https://d111.cf.test/cdn', `https://d111.cf.test/cdn/some/prefix${blobPath}`],
    ]) {
      const mw = applyStorageMiddleware(s3, [
        { name: 'cloudfront', options: { ...options, baseurl } },
      ]);
      const url = new URL((await mw.driver.redirectURL('GET', blobPath)) ?? '');
      assert.equal(`${url.origin}${url.pathname}`, expected);
      assert.ok(url.searchParams.has('Signature'));
    }
  });

  test('cloudfront over a driver without S3 keys hands out its URL and warns', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const options = { baseurl: 'https://d111.cf.test/', privatekey: keyFile, keypairid: 'KP1' };
    const cloudfront = { name: 'cloudfront', options };
    const memory = applyStorageMiddleware(new InMemoryDriver(), [cloudfront], log);
    assert.equal(await memory.driver.redirectURL('GET', blobPath), null);
    // As in the reference, a middleware between hides the s3 driver's keys.
    const proxied = applyStorageMiddleware(
      s3Driver('/some/prefix'),
      [{ name: 'redirect', options: { baseurl: 'https://proxy.test' } }, cloudfront],
      log,
    );
    assert.equal(
      await proxied.driver.redirectURL('GET', blobPath),
      `https://proxy.test${blobPath}`,
    );
    assert.equal(lines.length, 2);
    const warnings = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(
      warnings.map((w) => w['driver']),
      ['inmemory', 's3'],
    );
    assert.match(String(warnings[0]?.['msg']), /only to an s3 driver directly below it/);
  });

  test('an unknown middleware or a bad IP filter is refused by name', () => {
    assert.throws(
      () => applyStorageMiddleware(new InMemoryDriver(), [{ name: 'alicdn', options: {} }]),
      /storage middleware alicdn is not supported/,
    );
    assert.throws(
      () =>
        applyStorageMiddleware(new InMemoryDriver(), [
          {
            name: 'cloudfront',
            options: {
              baseurl: 'https://x.test/',
              privatekey: keyFile,
              keypairid: 'K',
              ipfilteredby: 'azure',
            },
          },
        ]),
      /ipfilteredby/,
    );
    assert.throws(
      () => applyStorageMiddleware(new InMemoryDriver(), [{ name: 'redirect', options: {} }]),
      /baseurl/,
    );
  });
});

describe('cloudfront options', () => {
  const required = { baseurl: 'https://d.test/', privatekey: '/k.pem', keypairid: 'K' };

  test('default to no IP filter, a 12 hour update period and the AWS ranges URL', () => {
    const options = parseCloudfrontOptions(required);
    assert.equal(options.ipfilteredby, 'none');
    assert.equal(options.updatefrequencyMs, 12 * 3_600_000);
    assert.equal(options.iprangesurl, DEFAULT_IP_RANGES_URL);
    assert.equal(options.durationMs, 20 * 60_000);
  });

  test('read regions from a comma-separated string or a list, lowercased', () => {
    const text = { ...required, ipfilteredby: 'awsregion', awsregion: ' US-East-1, eu-west-1,' };
    assert.deepEqual(parseCloudfrontOptions(text).awsregion, ['us-east-1', 'eu-west-1']);
    const list = { ...required, ipfilteredby: 'awsregion', awsregion: ['ap-south-1'] };
    assert.deepEqual(parseCloudfrontOptions(list).awsregion, ['ap-south-1']);
  });

  test('take the misspelt updatefrenquency of earlier reference releases', () => {
    const options = { ...required, ipfilteredby: 'aws', updatefrenquency: '90m' };
    assert.equal(parseCloudfrontOptions(options).updatefrequencyMs, 90 * 60_000);
  });

  test('an unreadable private key is refused when the middleware is built', () => {
    assert.throws(
      () =>
        applyStorageMiddleware(new InMemoryDriver(), [
          { name: 'cloudfront', options: { ...required, privatekey: '/nonexistent/cf.pem' } },
        ]),
      /middleware cloudfront: privatekey: cannot read \/nonexistent\/cf\.pem/,
    );
  });
});

describe('a registry with the redirect middleware', () => {
  let reg: TestRegistry;
  let open: TestRegistry;
  before(async () => {
    const middleware = '[{name: redirect, options: {baseurl: "https://cdn.test"}}]';
    reg = await startTestRegistry({ env: { REGISTRY_MIDDLEWARE_STORAGE: middleware } });
    open = await startTestRegistry({
      env: { REGISTRY_MIDDLEWARE_STORAGE: middleware, REGISTRY_STORAGE_REDIRECT_DISABLE: 'true' },
    });
  });
  after(async () => {
    await reg?.stop();
    await open?.stop();
  });

  test('blob GET answers 307 to the proxy, unless storage.redirect.disable', async () => {
    const { digest } = descriptor('application/octet-stream', 'proxied bytes');
    await pushBlob(reg.url, 'mw/app', 'proxied bytes');
    const res = await fetch(`${reg.url}/v2/mw/app/blobs/${digest}`, { redirect: 'manual' });
    assert.equal(res.status, 307);
    assert.equal(
      res.headers.get('location'),
      `https://cdn.test/docker/registry/v2/blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}/data`,
    );
    await pushBlob(open.url, 'mw/app', 'proxied bytes');
    const direct = await fetch(`${open.url}/v2/mw/app/blobs/${digest}`, { redirect: 'manual' });
    assert.equal(direct.status, 200);
    assert.equal(await direct.text(), 'proxied bytes');
  });
});
