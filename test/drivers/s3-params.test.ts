/**
 * The s3 driver without an S3 service: its parameters (names, defaults, refusals), its key
 * layout, and its retries against a local HTTP server that fails on purpose.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTLSServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { PathNotFoundError, StorageDriverError } from '../../src/drivers/driver.js';
import { createDriver } from '../../src/drivers/factory.js';
import { parseS3Params, S3Driver } from '../../src/drivers/s3/index.js';
import { KeyMap } from '../../src/drivers/s3/keys.js';
import { splitEvenly } from '../../src/drivers/s3/multipart.js';
import { requireTool, run } from '../helpers/tools.js';

const MiB = 1024 * 1024;
const required = { region: 'us-east-1', bucket: 'b' };

describe('s3 driver parameters', () => {
  test('the reference defaults apply when only region and bucket are given', () => {
    assert.deepEqual(parseS3Params(required), {
      region: 'us-east-1',
      regionendpoint: null,
      forcepathstyle: true,
      bucket: 'b',
      rootdirectory: '',
      accesskey: null,
      secretkey: null,
      encrypt: false,
      keyid: null,
      secure: true,
      skipverify: false,
      chunksize: 10 * MiB,
      multipartcopychunksize: 32 * MiB,
      multipartcopymaxconcurrency: 100,
      multipartcopythresholdsize: 32 * MiB,
      storageclass: 'STANDARD',
      objectacl: 'private',
      useragent: null,
      loglevel: 'off',
    });
  });

  test('strings from YAML or REGISTRY_ variables are read as booleans and sizes', () => {
    const params = parseS3Params({
      ...required,
      secure: 'false',
      encrypt: 'TRUE',
      chunksize: '5242880',
      multipartcopythresholdsize: 0,
      storageclass: 'reduced_redundancy',
      regionendpoint: 'minio.local:9000',
      accesskey: '',
      secretkey: '',
    });
    assert.equal(params.secure, false);
    assert.equal(params.encrypt, true);
    assert.equal(params.chunksize, 5 * MiB);
    assert.equal(params.multipartcopythresholdsize, 0);
    assert.equal(params.storageclass, 'REDUCED_REDUNDANCY');
    assert.equal(params.regionendpoint, 'http://minio.local:9000');
    assert.equal(params.accesskey, null);
  });

  test('each invalid parameter is refused with an error naming it', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ bucket: 'b' }, /region is required/],
      [{ region: 'us-east-1' }, /bucket is required/],
      [{ ...required, chunksize: 5 * MiB - 1 }, /chunksize must be between/],
      [{ ...required, chunksize: '10MB' }, /chunksize must be an integer/],
      [{ ...required, multipartcopychunksize: 6 * 1024 * MiB }, /multipartcopychunksize/],
      [{ ...required, multipartcopymaxconcurrency: 0 }, /multipartcopymaxconcurrency/],
      [{ ...required, multipartcopythresholdsize: -1 }, /multipartcopythresholdsize/],
      [{ ...required, accesskey: 'AK' }, /secretkey is required/],
      [{ ...required, secretkey: 'SK' }, /accesskey is required/],
      [{ ...required, secure: 'yes' }, /secure must be a boolean/],
      [{ ...required, v4auth: false }, /v4auth cannot be false/],
      [{ ...required, storageclass: 'GLACIER' }, /storageclass must be one of/],
      [{ ...required, objectacl: 'everyone' }, /objectacl must be one of/],
      [{ ...required, loglevel: 'verbose' }, /loglevel must be one of/],
      [{ ...required, regionendpoint: 'ftp://host' }, /regionendpoint must be an http/],
      [{ ...required, rootdirectory: 7 }, /rootdirectory must be a string/],
    ];
    for (const [params, message] of cases) {
      assert.throws(() => parseS3Params(params), message, JSON.stringify(params));
    }
  });

  test('the factory builds an s3 driver shared across threads without contacting S3', () => {
    const driver = createDriver('s3', { ...required, regionendpoint: 'http://127.0.0.1:9' });
    assert.equal(driver.name, 's3');
    assert.equal(driver.sharedAcrossThreads, true);
    assert.throws(() => createDriver('s3', { region: 'us-east-1' }), /bucket/);
  });
});

describe('s3 key layout', () => {
  test('keys are the rootdirectory and the path without a leading slash, as the reference', () => {
    const blob = '/docker/registry/v2/blobs/sha256/ab/abcd/data';
    assert.equal(new KeyMap('').key(blob), blob.slice(1));
    assert.equal(new KeyMap('/').key(blob), blob.slice(1));
    assert.equal(new KeyMap('/reg/').key(blob), `reg${blob}`);
    assert.equal(new KeyMap('reg').key(blob), `reg${blob}`);
    assert.equal(new KeyMap('/reg').dirPrefix('/'), 'reg/');
    assert.equal(new KeyMap('').dirPrefix('/'), '');
    assert.equal(new KeyMap('/reg').dirPrefix('/a/b'), 'reg/a/b/');
    assert.equal(new KeyMap('/reg').path('reg/a/b/'), '/a/b');
    assert.equal(new KeyMap('').path('a/b'), '/a/b');
  });

  test('copies are split into even parts of at least 5 MiB and at most 10000', () => {
    assert.deepEqual(splitEvenly(12 * MiB, 5 * MiB), [
      [0, 6 * MiB],
      [6 * MiB, 12 * MiB],
    ]);
    assert.deepEqual(splitEvenly(9 * MiB, 5 * MiB), [[0, 9 * MiB]]);
    const pieces = splitEvenly(100 * MiB + 7, 32 * MiB);
    assert.equal(pieces.length, 4);
    assert.equal(pieces.at(-1)?.[1], 100 * MiB + 7);
    assert.ok(pieces.every(([s, e]) => e - s >= 5 * MiB && e - s <= 32 * MiB));
    assert.equal(splitEvenly(5 * 1024 * 1024 * MiB, 5 * MiB).length, 10_000);
  });
});

/**
 * A local stand-in for S3 that answers each request with the next scripted reaction, over
 * HTTPS when given a key and certificate.
 */
async function scriptedS3(
  script: Array<(req: IncomingMessage, res: ServerResponse) => void>,
  tls?: { key: Buffer; cert: Buffer },
): Promise<{ endpoint: string; requests: () => number; close: () => Promise<void> }> {
  let count = 0;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const react = script[Math.min(count, script.length - 1)];
    count++;
    req.resume();
    react?.(req, res);
  };
  const server = tls === undefined ? createServer(handler) : createTLSServer(tls, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    requests: () => count,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function s3Error(status: number, code: string) {
  return (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(status, { 'content-type': 'application/xml' });
    res.end(`<?xml version="1.0"?><Error><Code>${code}</Code><Message>m</Message></Error>`);
  };
}

const ok = (_req: IncomingMessage, res: ServerResponse): void => {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '5' });
  res.end('hello');
};

const reset = (req: IncomingMessage): void => {
  req.socket.destroy();
};

function driverOn(endpoint: string, extra: Record<string, unknown> = {}): S3Driver {
  const params = { ...required, regionendpoint: endpoint, accesskey: 'AK', secretkey: 'SK' };
  return new S3Driver(parseS3Params({ ...params, ...extra }));
}

/** A self-signed key and certificate for 127.0.0.1, made by openssl. */
async function selfSigned(): Promise<{ key: Buffer; cert: Buffer }> {
  const openssl = requireTool('openssl', 'openssl');
  const dir = await mkdtemp(join(tmpdir(), 'berth-s3-tls-'));
  try {
    const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    await run(openssl, [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'],
      ...[
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      ...['-keyout', key, '-out', cert],
    ]);
    return { key: await readFile(key), cert: await readFile(cert) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('s3 driver retries', () => {
  test('throttling, a server error and a connection reset are retried with backoff', async () => {
    const s3 = await scriptedS3([
      s3Error(503, 'SlowDown'),
      s3Error(500, 'InternalError'),
      reset,
      ok,
    ]);
    try {
      const content = await driverOn(s3.endpoint).getContent('/a/file');
      assert.equal(content.toString(), 'hello');
      assert.equal(s3.requests(), 4);
    } finally {
      await s3.close();
    }
  });

  test('a request failing on all 5 attempts is a StorageDriverError with its cause', async () => {
    const s3 = await scriptedS3([s3Error(500, 'InternalError')]);
    try {
      const err = await driverOn(s3.endpoint)
        .getContent('/a/file')
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(err instanceof StorageDriverError && !(err instanceof PathNotFoundError));
      assert.match(err.message, /InternalError/);
      assert.equal(s3.requests(), 5);
    } finally {
      await s3.close();
    }
  });

  test('an untrusted certificate is refused unless skipverify is set', async () => {
    const s3 = await scriptedS3([ok], await selfSigned());
    try {
      await assert.rejects(driverOn(s3.endpoint).getContent('/a/file'), (err: unknown) => {
        assert.ok(err instanceof StorageDriverError);
        assert.match(err.message, /self[- ]signed|certificate/i);
        return true;
      });
      const content = await driverOn(s3.endpoint, { skipverify: true }).getContent('/a/file');
      assert.equal(content.toString(), 'hello');
    } finally {
      await s3.close();
    }
  });

  test('NoSuchKey is a PathNotFoundError at once, without retries', async () => {
    const s3 = await scriptedS3([s3Error(404, 'NoSuchKey')]);
    try {
      await assert.rejects(driverOn(s3.endpoint).getContent('/a/file'), PathNotFoundError);
      assert.equal(s3.requests(), 1);
    } finally {
      await s3.close();
    }
  });
});
