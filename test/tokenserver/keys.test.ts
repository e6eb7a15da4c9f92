import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KeyError, libtrustKeyId, loadSigningKey, publicJwks } from '../../src/tokenserver/keys.js';
import { makeCa, makeCert, makeKey, type KeyKind } from '../helpers/token-keys.js';

const readFileSyncText = (file: string): string => readFileSync(file, 'utf8');

describe('libtrustKeyId', () => {
  test('gives the key id of the example key in jwt.md', () => {
    // The ECDSA key and its id from spec/auth/jwt.md, "Signature".
    const key = createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: 'm7zUpx3b-zmVE5cymSs64POG9QcyEpJaYCD82-549_Q',
        y: 'dU3biz8sZ_8GPB-odm8Wxz3lNDr1xcAQQPQaOcr1fmc',
      },
      format: 'jwk',
    });
    assert.equal(libtrustKeyId(key), 'PYYO:TEWU:V7JH:26JV:AQTZ:LJC3:SXVJ:XGHA:34F2:2LAQ:ZRMK:Z7Q6');
  });
});

describe('loadSigningKey', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-keys-'));
  });
  after(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  const algorithms: [KeyKind, string][] = [
    ['rsa', 'RS256'],
    ['ec256', 'ES256'],
    ['ec384', 'ES384'],
    ['ec521', 'ES512'],
    ['ed25519', 'EdDSA'],
  ];
  for (const [kind, alg] of algorithms) {
    test(`a ${kind} key signs with ${alg} and publishes its kid in the JWKS`, async () => {
      const pem = await readFile(await makeKey(dir, kind, `alg-${kind}`), 'utf8');
      const key = loadSigningKey(pem);
      assert.equal(key.alg, alg);
      assert.match(key.kid, /^[A-Z2-7]{4}(?::[A-Z2-7]{4}){11}$/);
      assert.deepEqual(key.x5c, []);

      const jwks = await publicJwks(key);
      assert.equal(jwks.keys.length, 1);
      const jwk = jwks.keys[0];
      assert.equal(jwk?.kid, key.kid);
      assert.equal(jwk.alg, alg);
      assert.equal(jwk.use, 'sig');
      assert.equal(jwk.d, undefined, 'no private part is published');
      assert.equal(libtrustKeyId(createPublicKey({ key: jwk, format: 'jwk' })), key.kid);
    });
  }

  test('an RSA key under 2048 bits is refused', async () => {
    const file = await makeKey(dir, 'rsa', 'small', ['-pkeyopt', 'rsa_keygen_bits:1024']);
    assert.throws(() => loadSigningKey(readFileSyncText(file)), /shorter than 2048/);
  });

  test('a file without a private key is refused', () => {
    assert.throws(() => loadSigningKey('not a key'), KeyError);
  });

  test('a CA-issued certificate goes into x5c with the chain, leaf first', async () => {
    const keyFile = await makeKey(dir, 'ec256', 'leaf');
    const ca = await makeCa(dir, 'chain-ca');
    const cert = await makeCert(dir, keyFile, ca, 'leaf');
    const chain = (await readFile(cert, 'utf8')) + (await readFile(ca.cert, 'utf8'));
    const key = loadSigningKey(await readFile(keyFile, 'utf8'), chain);
    assert.equal(key.x5c.length, 2);
    const jwks = await publicJwks(key);
    assert.deepEqual(jwks.keys[0]?.x5c, key.x5c);
  });

  test('a certificate for another key is refused', async () => {
    const keyFile = await makeKey(dir, 'ec256', 'mine');
    const other = await makeKey(dir, 'ec256', 'other');
    const cert = await makeCert(dir, other, undefined, 'other');
    assert.throws(
      () => loadSigningKey(readFileSyncText(keyFile), readFileSyncText(cert)),
      /not for the signing key/,
    );
  });

  test('a chain whose second certificate did not issue the first is refused', async () => {
    const keyFile = await makeKey(dir, 'ec256', 'broken');
    const ca = await makeCa(dir, 'real-ca');
    const stranger = await makeCa(dir, 'stranger-ca');
    const cert = await makeCert(dir, keyFile, ca, 'broken');
    const chain = readFileSyncText(cert) + readFileSyncText(stranger.cert);
    assert.throws(() => loadSigningKey(readFileSyncText(keyFile), chain), /not issued by/);
  });
});
