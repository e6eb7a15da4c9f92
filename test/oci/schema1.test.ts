import assert from 'node:assert/strict';
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  X509Certificate,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { RegistryError } from '../../src/errors/registry-error.js';
import { keyId } from '../../src/oci/libtrust.js';
import {
  prettyPayload,
  signSchema1,
  signSchema1Payload,
  verifySchema1,
} from '../../src/oci/schema1.js';

type Json = Record<string, unknown>;

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../../test/oci/fixtures/schema1/${name}`, import.meta.url));
const sha256 = (bytes: Uint8Array): string =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const otherEc = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

const layer = (c: string): string => `sha256:${c.repeat(64)}`;
function manifest(extra: Json = {}): Json {
  return {
    schemaVersion: 1,
    name: 'library/app',
    tag: 'latest',
    architecture: 'amd64',
    fsLayers: [{ blobSum: layer('a') }, { blobSum: layer('b') }, { blobSum: layer('a') }],
    history: [
      { v1Compatibility: '{"id":"3"}' },
      { v1Compatibility: '{"id":"2"}' },
      { v1Compatibility: '{"id":"1"}' },
    ],
    ...extra,
  };
}

function refuses(bytes: Buffer, code: string, signed = true, detail?: RegExp): void {
  assert.throws(
    () => verifySchema1(bytes, signed),
    (err) =>
      err instanceof RegistryError &&
      err.code === code &&
      (detail === undefined || detail.test(String(err.detail))),
  );
}

/** Replaces the signatures of a signed body, keeping the signed part byte for byte. */
function withSignatures(signed: Buffer, edit: (signatures: Json[]) => unknown): Buffer {
  const { signatures } = JSON.parse(signed.toString()) as { signatures: Json[] };
  const cut = signed.lastIndexOf(',\n   "signatures": ');
  const list = JSON.stringify(edit(signatures));
  return Buffer.concat([signed.subarray(0, cut), Buffer.from(`,"signatures":${list}}`)]);
}

const header = (signature: Json | undefined): Json => signature?.['header'] as Json;

describe('verifySchema1 on signed manifests from the reference implementations', () => {
  test('verifies moby good_manifest and gives the digest its test expects', () => {
    const info = verifySchema1(fixture('moby-good.json'), true);
    assert.equal(
      sha256(info.payload),
      'sha256:02fee8c3220ba806531f606525eceb83f4feb654f62b207191b1c9209188dedd',
    );
    assert.equal(info.name, 'library/hello-world');
    assert.equal(info.tag, 'latest');
    assert.deepEqual(info.blobs, [
      'sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4',
      'sha256:03f4658f8b782e12230c1783426bd3bacce651ce582a4ffb6fbbfa2079428ecb',
    ]);
  });

  test('reads the fields from the signed payload, not from data after formatLength', () => {
    const info = verifySchema1(fixture('moby-extra-data.json'), true);
    assert.equal(
      sha256(info.payload),
      'sha256:02fee8c3220ba806531f606525eceb83f4feb654f62b207191b1c9209188dedd',
    );
    assert.equal(
      info.blobs[0],
      'sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4',
    );
  });

  test('refuses moby bad_manifest, edited after signing, as unverified', () => {
    refuses(fixture('moby-bad.json'), 'MANIFEST_UNVERIFIED');
  });

  test('verifies the containers/image busybox manifest and gives its known digest', () => {
    const info = verifySchema1(fixture('containers-image-busybox.json'), true);
    assert.equal(
      sha256(info.payload),
      'sha256:077594da70fc17ec2c93cfa4e6ed1fcc26992851fb2c71861338aaf4aa9e41b1',
    );
    assert.deepEqual(info.blobs, [
      'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef',
    ]);
  });

  test('computes the same key ID as libtrust put in the moby manifest', () => {
    const signed = JSON.parse(fixture('moby-good.json').toString()) as { signatures: Json[] };
    const jwk = header(signed.signatures[0])['jwk'] as Json;
    assert.equal(keyId(createPublicKey({ key: jwk, format: 'jwk' })), jwk['kid']);
  });
});

describe('signSchema1 and verifySchema1 round trips', () => {
  test('an EC P-256 signature verifies and the payload is the manifest without signatures', () => {
    const signed = signSchema1(manifest(), ec);
    const info = verifySchema1(signed, true);
    assert.deepEqual(info.payload, prettyPayload(manifest()));
    assert.equal(info.payload.toString(), JSON.stringify(manifest(), null, 3));
    assert.deepEqual(info.blobs, [layer('a'), layer('b')]);
    assert.equal(
      header((JSON.parse(signed.toString()) as { signatures: Json[] }).signatures[0])['alg'],
      'ES256',
    );
  });

  test('an RSA 2048 signature verifies with RS256', () => {
    const signed = signSchema1(manifest(), rsa);
    assert.deepEqual(verifySchema1(signed, true).payload, prettyPayload(manifest()));
    assert.match(signed.toString(), /"alg": "RS256"/);
  });

  test('a P-384 key with an x5c chain signs ES384 and verifies from the certificate', () => {
    const key = createPrivateKey(fixture('x5c-p384-key.pem'));
    const cert = new X509Certificate(fixture('x5c-p384-cert.pem')).raw.toString('base64');
    const signed = signSchema1(manifest(), key, { x5c: [cert] });
    assert.deepEqual(verifySchema1(signed, true).payload, prettyPayload(manifest()));
    const signature = (JSON.parse(signed.toString()) as { signatures: Json[] }).signatures[0];
    assert.deepEqual(header(signature), { alg: 'ES384', x5c: [cert] });
  });

  test('lays the body out as libtrust does: the payload, then an indented signatures list', () => {
    const text = signSchema1(manifest(), ec).toString();
    const payload = prettyPayload(manifest()).toString();
    assert.ok(
      text.startsWith(
        `${payload.slice(0, -2)},\n   "signatures": [\n      {\n         "header": {`,
      ),
    );
    assert.ok(text.endsWith('\n      }\n   ]\n}'));
  });

  test('writes <, > and & in the payload as Go does', () => {
    const info = verifySchema1(signSchema1(manifest({ tag: 'a<b>&c' }), ec), true);
    assert.match(info.payload.toString(), /"tag": "a\\u003cb\\u003e\\u0026c"/);
    assert.equal(info.tag, 'a<b>&c');
  });

  test('two valid signatures by different keys verify', () => {
    const signed = signSchema1Payload(prettyPayload(manifest()), [{ key: ec }, { key: rsa }]);
    assert.equal((JSON.parse(signed.toString()) as { signatures: Json[] }).signatures.length, 2);
    assert.deepEqual(verifySchema1(signed, true).payload, prettyPayload(manifest()));
  });

  test('re-signing a verified payload with another key keeps the digest', () => {
    const first = verifySchema1(signSchema1(manifest(), ec), true).payload;
    const again = verifySchema1(signSchema1Payload(first, [{ key: otherEc }]), true).payload;
    assert.equal(sha256(again), sha256(first));
  });
});

describe('verifySchema1 refuses what does not verify', () => {
  test('a payload changed after signing', () => {
    const signed = signSchema1(manifest(), ec);
    refuses(
      Buffer.from(signed.toString().replace('"tag": "latest"', '"tag": "latesT"')),
      'MANIFEST_UNVERIFIED',
      true,
      /invalid signature/,
    );
  });

  test('a signature by another key under the first key’s header', () => {
    const mine = signSchema1(manifest(), ec);
    const theirs = JSON.parse(signSchema1(manifest(), otherEc).toString()) as {
      signatures: Json[];
    };
    const forged = withSignatures(mine, ([s]) => [
      { ...s, signature: theirs.signatures[0]?.['signature'] },
    ]);
    refuses(forged, 'MANIFEST_UNVERIFIED', true, /invalid signature/);
  });

  test('a header whose jwk is another key than the one that signed', () => {
    const otherJwk = { ...createPublicKey(otherEc).export({ format: 'jwk' }), kid: keyId(otherEc) };
    const forged = withSignatures(signSchema1(manifest(), ec), ([s]) => [
      { ...s, header: { ...header(s), jwk: otherJwk } },
    ]);
    refuses(forged, 'MANIFEST_UNVERIFIED', true, /invalid signature/);
  });

  test('a jwk whose kid is not the key’s libtrust ID', () => {
    const forged = withSignatures(signSchema1(manifest(), ec), ([s]) => [
      {
        ...s,
        header: { ...header(s), jwk: { ...(header(s)['jwk'] as Json), kid: keyId(otherEc) } },
      },
    ]);
    refuses(forged, 'MANIFEST_UNVERIFIED', true, /kid/);
  });

  test('two signatures of which the second is bad', () => {
    const signed = signSchema1Payload(prettyPayload(manifest()), [{ key: ec }, { key: rsa }]);
    const broken = withSignatures(signed, ([a, b]) => [
      a,
      { ...b, signature: `AAAA${String(b?.['signature']).slice(4)}` },
    ]);
    refuses(broken, 'MANIFEST_UNVERIFIED', true, /^signatures\[1\]/);
  });

  test('an alg that does not fit the key', () => {
    for (const alg of ['ES384', 'RS256', 'none', 'HS256']) {
      const forged = withSignatures(signSchema1(manifest(), ec), ([s]) => [
        { ...s, header: { ...header(s), alg } },
      ]);
      refuses(forged, 'MANIFEST_UNVERIFIED', true, /alg/);
    }
  });

  test('an x5c leaf whose key did not sign', () => {
    const cert = new X509Certificate(fixture('x5c-p384-cert.pem')).raw.toString('base64');
    refuses(signSchema1(manifest(), ec, { x5c: [cert] }), 'MANIFEST_UNVERIFIED');
  });

  test('a jwk whose point is not on its curve', () => {
    const zero = Buffer.alloc(32).toString('base64url');
    const forged = withSignatures(signSchema1(manifest(), ec), ([s]) => [
      { ...s, header: { ...header(s), jwk: { kty: 'EC', crv: 'P-256', x: zero, y: zero } } },
    ]);
    refuses(forged, 'MANIFEST_UNVERIFIED', true, /not a valid public key/);
  });

  test('a prettyjws manifest without signatures, an empty list or a non-list', () => {
    refuses(prettyPayload(manifest()), 'MANIFEST_UNVERIFIED', true, /no signatures/);
    refuses(
      prettyPayload(manifest({ signatures: [] })),
      'MANIFEST_UNVERIFIED',
      true,
      /no signatures/,
    );
    refuses(prettyPayload(manifest({ signatures: 1 })), 'MANIFEST_UNVERIFIED', true, /a list/);
  });

  test('a signatures member on a manifest sent as unsigned', () => {
    const signed = signSchema1(manifest(), ec);
    refuses(
      Buffer.from(signed.toString().replace('"latest"', '"other"')),
      'MANIFEST_UNVERIFIED',
      false,
    );
  });

  test('signatures that disagree on formatLength, or point past the end', () => {
    const signed = signSchema1Payload(prettyPayload(manifest()), [{ key: ec }, { key: rsa }]);
    const protect = (length: number): string =>
      Buffer.from(JSON.stringify({ formatLength: length, formatTail: 'Cn0' })).toString(
        'base64url',
      );
    refuses(
      withSignatures(signed, ([a, b]) => [a, { ...b, protected: protect(10) }]),
      'MANIFEST_UNVERIFIED',
      true,
      /disagree/,
    );
    refuses(
      withSignatures(signed, ([a]) => [{ ...a, protected: protect(1e6) }]),
      'MANIFEST_UNVERIFIED',
      true,
      /past the end/,
    );
    refuses(
      withSignatures(signed, ([a]) => [{ ...a, protected: 'not base64!' }]),
      'MANIFEST_UNVERIFIED',
    );
  });

  test('an EC signature that is DER instead of raw r||s', () => {
    const der = Buffer.alloc(70, 1).toString('base64url');
    refuses(
      withSignatures(signSchema1(manifest(), ec), ([s]) => [{ ...s, signature: der }]),
      'MANIFEST_UNVERIFIED',
      true,
      /r\|\|s/,
    );
  });
});

describe('verifySchema1 checks the manifest fields', () => {
  const cases: [string, Json][] = [
    ['fsLayers and history of different lengths', { history: [{ v1Compatibility: '{}' }] }],
    [
      'a blobSum that is not a digest',
      { fsLayers: [{ blobSum: 'sha256:abc' }, { blobSum: layer('b') }, { blobSum: layer('a') }] },
    ],
    [
      'a blobSum that is not sha256',
      {
        fsLayers: [
          { blobSum: `sha512:${'a'.repeat(128)}` },
          { blobSum: layer('b') },
          { blobSum: layer('a') },
        ],
      },
    ],
    ['schemaVersion 2', { schemaVersion: 2 }],
    ['no name', { name: undefined }],
    ['a tag that is not a string', { tag: 1 }],
    ['no architecture', { architecture: undefined }],
    ['no layers', { fsLayers: [], history: [] }],
    [
      'a history entry without v1Compatibility',
      { history: [{}, { v1Compatibility: '{}' }, { v1Compatibility: '{}' }] },
    ],
  ];
  for (const [name, extra] of cases) {
    test(`refuses ${name} with MANIFEST_INVALID, signed or not`, () => {
      refuses(signSchema1(manifest(extra), ec), 'MANIFEST_INVALID');
      refuses(prettyPayload(manifest(extra)), 'MANIFEST_INVALID', false);
    });
  }

  test('refuses a body that is not a JSON object with MANIFEST_INVALID', () => {
    refuses(Buffer.from('{"schemaVersion":1'), 'MANIFEST_INVALID');
    refuses(Buffer.from('[1]'), 'MANIFEST_INVALID', false);
  });
});

describe('verifySchema1 on unsigned manifests', () => {
  test('takes the bytes as sent as the payload', () => {
    const bytes = Buffer.from(JSON.stringify(manifest()));
    const info = verifySchema1(bytes, false);
    assert.equal(sha256(info.payload), sha256(bytes));
    assert.deepEqual(info.blobs, [layer('a'), layer('b')]);
  });

  test('gives a manifest the digest it has once signed', () => {
    const signed = verifySchema1(signSchema1(manifest(), rsa), true);
    assert.equal(
      sha256(verifySchema1(prettyPayload(manifest()), false).payload),
      sha256(signed.payload),
    );
  });
});

describe('signSchema1 misuse', () => {
  test('refuses keys libtrust cannot sign with', () => {
    const ed = generateKeyPairSync('ed25519').privateKey;
    assert.throws(() => signSchema1(manifest(), ed), TypeError);
    assert.throws(() => signSchema1(manifest(), createPublicKey(ec)), TypeError);
  });

  test('refuses a payload that is not a non-empty JSON object', () => {
    assert.throws(() => signSchema1Payload(Buffer.from('{}'), [{ key: ec }]), TypeError);
    assert.throws(() => signSchema1Payload(Buffer.from('[1]'), [{ key: ec }]), TypeError);
  });
});
