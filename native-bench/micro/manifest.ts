/**
 * Manifest verification as a worker does it for a PUT (tasks.ts `manifest`): checkManifest
 * on the body, then the digest of its bytes; and canonical JSON, which schema 1 signing uses.
 * Inputs are built here: random digests of the right form, sizes, real media types.
 */
import { generateKeyPairSync, randomBytes, randomInt } from 'node:crypto';
import { canonicalize } from '../../src/oci/canonical-json.js';
import { checkManifest } from '../../src/oci/manifest.js';
import { mediaTypes } from '../../src/oci/media-types.js';
import { signSchema1 } from '../../src/oci/schema1.js';
import { digestOf } from '../../src/workers/hasher.js';
import { loopFor, measure, type Settings } from './measure.js';
import { figure, type Bench, type Figure } from './report.js';

const GROUP = 'Manifest verification';

function digest(): string {
  return `sha256:${randomBytes(32).toString('hex')}`;
}

function descriptor(mediaType: string, min: number, max: number): object {
  return { mediaType, digest: digest(), size: randomInt(min, max) };
}

function imageManifest(kind: 'oci' | 'docker', layers: number): object {
  const oci = kind === 'oci';
  const layerType = oci
    ? 'application/vnd.oci.image.layer.v1.tar+gzip'
    : 'application/vnd.docker.image.rootfs.diff.tar.gzip';
  const configType = oci
    ? 'application/vnd.oci.image.config.v1+json'
    : 'application/vnd.docker.container.image.v1+json';
  return {
    schemaVersion: 2,
    mediaType: oci ? mediaTypes.ociManifest : mediaTypes.dockerManifest,
    config: descriptor(configType, 1_000, 20_000),
    layers: Array.from({ length: layers }, () => descriptor(layerType, 30_000, 80_000_000)),
    ...(oci
      ? { annotations: { 'org.opencontainers.image.created': new Date().toISOString() } }
      : {}),
  };
}

const platforms = [
  ['linux', 'amd64'],
  ['linux', 'arm64'],
  ['linux', 'arm'],
  ['linux', 'ppc64le'],
  ['linux', 's390x'],
  ['linux', '386'],
  ['linux', 'riscv64'],
  ['linux', 'mips64le'],
  ['windows', 'amd64'],
  ['freebsd', 'amd64'],
];

function index(children: number): object {
  return {
    schemaVersion: 2,
    mediaType: mediaTypes.ociIndex,
    manifests: Array.from({ length: children }, (_, i) => {
      const [os, architecture] = platforms[i % platforms.length] ?? ['linux', 'amd64'];
      return { ...descriptor(mediaTypes.ociManifest, 400, 3_000), platform: { os, architecture } };
    }),
  };
}

/** A schema 1 manifest signed with a fresh P-256 key, as docker pushed them. */
function signedSchema1(layers: number): Buffer {
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const history = Array.from({ length: layers }, (_, i) => ({
    v1Compatibility: JSON.stringify({ id: randomBytes(32).toString('hex'), created: `${i}` }),
  }));
  const manifest = {
    schemaVersion: 1,
    name: 'micro/bench',
    tag: 'latest',
    architecture: 'amd64',
    fsLayers: Array.from({ length: layers }, () => ({ blobSum: digest() })),
    history,
  };
  return signSchema1(manifest, key);
}

interface Sample {
  id: string;
  name: string;
  bytes: Buffer;
  contentType: string;
}

function json(value: object): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function samples(): Sample[] {
  const { ociManifest, dockerManifest, ociIndex, dockerSchema1Signed } = mediaTypes;
  return [
    {
      id: 'oci-5',
      name: 'OCI image, 5 layers',
      bytes: json(imageManifest('oci', 5)),
      contentType: ociManifest,
    },
    {
      id: 'oci-100',
      name: 'OCI image, 100 layers',
      bytes: json(imageManifest('oci', 100)),
      contentType: ociManifest,
    },
    {
      id: 'docker-5',
      name: 'Docker schema 2, 5 layers',
      bytes: json(imageManifest('docker', 5)),
      contentType: dockerManifest,
    },
    {
      id: 'index-10',
      name: 'OCI index, 10 children',
      bytes: json(index(10)),
      contentType: ociIndex,
    },
    {
      id: 'schema1-5',
      name: 'Docker schema 1 signed (P-256), 5 layers',
      bytes: signedSchema1(5),
      contentType: dockerSchema1Signed,
    },
  ];
}

/** µs per manifest and manifests/s from the same rounds. */
function perManifest(
  fields: { id: string; name: string; note: string; facts: Figure['facts'] },
  rounds: Awaited<ReturnType<typeof measure>>,
): Figure[] {
  return [
    figure({ ...fields, group: GROUP, unit: 'µs' }, rounds, (r) => (r.seconds * 1e6) / r.units),
    figure(
      { ...fields, id: `${fields.id}.rate`, group: GROUP, unit: 'manifests/s' },
      rounds,
      (r) => r.units / r.seconds,
    ),
  ];
}

function check(sample: Sample): Bench {
  const id = `manifest.check.${sample.id}`;
  return {
    id,
    group: GROUP,
    async run(settings: Settings): Promise<Figure[]> {
      const verify = (): ReturnType<typeof checkManifest> =>
        checkManifest(sample.bytes, sample.contentType, { schema1: true });
      // The counts the check found, kept so a test can see what was verified.
      const info = verify().info;
      const facts = {
        bytes: sample.bytes.byteLength,
        mediaType: info.mediaType,
        blobs: info.blobs.length,
        children: info.manifests.length,
      };
      const rounds = await measure(settings, (ns) =>
        loopFor(ns, () => {
          verify();
          return 1;
        }),
      );
      const note = `checkManifest, ${sample.bytes.byteLength} bytes${
        sample.id.startsWith('schema1') ? ', ECDSA verify included' : ''
      }`;
      return perManifest({ id, name: `check: ${sample.name}`, note, facts }, rounds);
    },
  };
}

function sha256Of(sample: Sample): Bench {
  const id = `manifest.sha256.${sample.id}`;
  return {
    id,
    group: GROUP,
    async run(settings: Settings): Promise<Figure[]> {
      const rounds = await measure(settings, (ns) =>
        loopFor(ns, () => {
          digestOf('sha256', sample.bytes);
          return 1;
        }),
      );
      const note = `digestOf, ${sample.bytes.byteLength} bytes`;
      const facts = { bytes: sample.bytes.byteLength };
      return perManifest({ id, name: `sha256: ${sample.name}`, note, facts }, rounds);
    },
  };
}

function canonical(sample: Sample): Bench {
  const id = `manifest.canonicalize.${sample.id}`;
  return {
    id,
    group: GROUP,
    async run(settings: Settings): Promise<Figure[]> {
      const parsed: unknown = JSON.parse(sample.bytes.toString());
      const rounds = await measure(settings, (ns) =>
        loopFor(ns, () => {
          canonicalize(parsed);
          return 1;
        }),
      );
      const note = 'canonical JSON of the parsed body; Berth runs it only to sign schema 1';
      const facts = { bytes: canonicalize(parsed).length };
      return perManifest({ id, name: `canonicalize: ${sample.name}`, note, facts }, rounds);
    },
  };
}

/** Every manifest benchmark, in the order they run. */
export function manifestBenches(): Bench[] {
  const all = samples();
  const byId = (id: string): Sample => {
    const sample = all.find((s) => s.id === id);
    if (sample === undefined) throw new Error(`no sample ${id}`);
    return sample;
  };
  return [
    ...all.map(check),
    sha256Of(byId('oci-5')),
    sha256Of(byId('oci-100')),
    canonical(byId('oci-5')),
  ];
}
