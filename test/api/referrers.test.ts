import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  descriptor,
  drivers,
  makeImage,
  ociManifestType,
  pushBlob,
  sha256,
  startTestRegistry,
  type PushedImage,
  type TestRegistry,
} from '../helpers/server.js';

const indexType = 'application/vnd.oci.image.index.v1+json';
const emptyConfigType = 'application/vnd.oci.empty.v1+json';
const sbomType = 'application/vnd.example.sbom.v1';
const signatureType = 'application/vnd.example.signature.v1';

interface Listed {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

async function referrers(
  reg: TestRegistry,
  repo: string,
  subject: string,
  query = '',
): Promise<{ res: Response; manifests: Listed[] }> {
  const res = await fetch(`${reg.url}/v2/${repo}/referrers/${subject}${query}`);
  const body = (await res.json()) as {
    schemaVersion: number;
    mediaType: string;
    manifests: Listed[];
  };
  if (res.status === 200) {
    assert.equal(body.schemaVersion, 2);
    assert.equal(body.mediaType, indexType);
  }
  return { res, manifests: body.manifests };
}

async function put(
  reg: TestRegistry,
  repo: string,
  ref: string,
  body: object,
  type: string,
): Promise<{ res: Response; digest: string; size: number }> {
  const bytes = Buffer.from(JSON.stringify(body));
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${ref}`, {
    method: 'PUT',
    headers: { 'Content-Type': type },
    body: bytes,
  });
  assert.equal(res.status, 201, await res.clone().text());
  return { res, digest: sha256(bytes), size: bytes.byteLength };
}

for (const driver of drivers) {
  describe(`referrers API (${driver})`, () => {
    let reg: TestRegistry;
    let subject: PushedImage;
    const repo = 'ref/app';
    const pushed: Record<string, { digest: string; size: number }> = {};

    before(async () => {
      reg = await startTestRegistry({ driver, deleteEnabled: true });
      subject = await makeImage(reg.url, repo, 'v1', { layers: 1 });
      const empty = await pushBlob(reg.url, repo, '{}');
      const sbomLayer = await pushBlob(reg.url, repo, 'an sbom');
      const artifact = (artifactType: string | undefined, annotations: Record<string, string>) => ({
        schemaVersion: 2,
        mediaType: ociManifestType,
        ...(artifactType === undefined ? {} : { artifactType }),
        config: { mediaType: emptyConfigType, digest: empty, size: 2, data: 'e30=' },
        layers: [descriptor('application/spdx+json', 'an sbom')],
        subject: subject.descriptor,
        annotations,
      });
      assert.equal(sbomLayer, sha256('an sbom'));
      const sbom = await put(
        reg,
        repo,
        'sbom',
        artifact(sbomType, { 'org.example.kind': 'sbom' }),
        ociManifestType,
      );
      assert.equal(sbom.res.headers.get('oci-subject'), subject.manifestDigest);
      pushed['sbom'] = sbom;
      pushed['sig'] = await put(
        reg,
        repo,
        'sig',
        artifact(signatureType, { 'org.example.kind': 'sig' }),
        ociManifestType,
      );
      // No artifactType: an image manifest is listed with its config's media type.
      pushed['plain'] = await put(reg, repo, 'plain', artifact(undefined, {}), ociManifestType);
      pushed['index'] = await put(
        reg,
        repo,
        'an-index',
        {
          schemaVersion: 2,
          mediaType: indexType,
          manifests: [],
          subject: subject.descriptor,
          annotations: { a: 'b' },
        },
        indexType,
      );
    });
    after(() => reg?.stop());

    test('lists every manifest whose subject is the digest, with its descriptor', async () => {
      const { res, manifests } = await referrers(reg, repo, subject.manifestDigest);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), indexType);
      assert.equal(res.headers.get('oci-filters-applied'), null);
      const byDigest = new Map(manifests.map((m) => [m.digest, m]));
      assert.equal(manifests.length, 4);
      assert.deepEqual(byDigest.get(pushed['sbom']?.digest ?? ''), {
        mediaType: ociManifestType,
        digest: pushed['sbom']?.digest,
        size: pushed['sbom']?.size,
        artifactType: sbomType,
        annotations: { 'org.example.kind': 'sbom' },
      });
      assert.equal(byDigest.get(pushed['plain']?.digest ?? '')?.artifactType, emptyConfigType);
      const index = byDigest.get(pushed['index']?.digest ?? '');
      assert.equal(index?.mediaType, indexType);
      assert.equal(index?.artifactType, undefined, 'an index without artifactType has none');
      assert.deepEqual(index?.annotations, { a: 'b' });
    });

    test('filters by artifactType and says so in OCI-Filters-Applied', async () => {
      const { res, manifests } = await referrers(
        reg,
        repo,
        subject.manifestDigest,
        `?artifactType=${encodeURIComponent(signatureType)}`,
      );
      assert.equal(res.headers.get('oci-filters-applied'), 'artifactType');
      assert.deepEqual(
        manifests.map((m) => m.digest),
        [pushed['sig']?.digest],
      );
    });

    test('a subject with no referrers, or an unknown repository, gives an empty list', async () => {
      const none = await referrers(reg, repo, subject.configDigest);
      assert.equal(none.res.status, 200);
      assert.deepEqual(none.manifests, []);
      const unknown = await referrers(reg, 'no/such/repo', subject.manifestDigest);
      assert.equal(unknown.res.status, 200);
      assert.deepEqual(unknown.manifests, []);
    });

    test('a malformed digest answers 400', async () => {
      const res = await fetch(`${reg.url}/v2/${repo}/referrers/sha256:nothex`);
      assert.equal(res.status, 400);
      assert.equal(
        ((await res.json()) as { errors: { code: string }[] }).errors[0]?.code,
        'DIGEST_INVALID',
      );
    });

    test('a referrer may be pushed before its subject exists', async () => {
      const ghost = { mediaType: ociManifestType, digest: `sha256:${'9'.repeat(64)}`, size: 10 };
      const early = await put(
        reg,
        repo,
        'early',
        { schemaVersion: 2, mediaType: indexType, manifests: [], subject: ghost },
        indexType,
      );
      const { manifests } = await referrers(reg, repo, ghost.digest);
      assert.deepEqual(
        manifests.map((m) => m.digest),
        [early.digest],
      );
    });

    test('deleting a referrer removes it from the list', async () => {
      const target = pushed['plain']?.digest ?? '';
      const del = await fetch(`${reg.url}/v2/${repo}/manifests/${target}`, { method: 'DELETE' });
      assert.equal(del.status, 202);
      const { manifests } = await referrers(reg, repo, subject.manifestDigest);
      assert.ok(!manifests.some((m) => m.digest === target));
      assert.equal(manifests.length, 3);
    });
  });
}
