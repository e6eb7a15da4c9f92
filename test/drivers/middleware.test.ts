import assert from 'node:assert/strict';
import { createVerify, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InMemoryDriver } from '../../src/drivers/inmemory/index.js';
import { applyStorageMiddleware } from '../../src/drivers/middleware/index.js';
import {
  DEFAULT_IP_RANGES_URL,
  parseCloudfrontOptions,
} from '../../src/drivers/middleware/options.js';
import { descriptor, pushBlob, startTestRegistry, type TestRegistry } from '../helpers/server.js';

const blobPath = '/docker/registry/v2/blobs/sha256/ab/abcd/data';

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
    const { driver } = applyStorageMiddleware(new InMemoryDriver(), [
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
