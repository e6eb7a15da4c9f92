/**
 * The parameters of the `s3` storage driver, as written in its section of the configuration
 * (the reference registry's names and defaults), and their validation. Nothing here loads
 * the AWS SDK, so a configuration can be checked without it.
 */

/** S3's smallest part of a multipart upload (all parts but the last): 5 MiB. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** S3's largest part, and the largest single-request copy: 5 GiB. */
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
/** S3's largest number of parts in one multipart upload. */
export const MAX_PARTS = 10_000;

/** The reference's default `chunksize`. */
export const DEFAULT_CHUNK_SIZE = 10 * 1024 * 1024;
/** The reference's default `multipartcopychunksize` (it measured 32 MiB as fastest). */
export const DEFAULT_MULTIPART_COPY_CHUNK_SIZE = 32 * 1024 * 1024;
/** The reference's default `multipartcopymaxconcurrency`. */
export const DEFAULT_MULTIPART_COPY_MAX_CONCURRENCY = 100;
/** The reference's default `multipartcopythresholdsize`. */
export const DEFAULT_MULTIPART_COPY_THRESHOLD_SIZE = 32 * 1024 * 1024;

/**
 * Storage classes a registry can read back at once. The archive classes (`GLACIER`,
 * `DEEP_ARCHIVE`) are refused: their objects need a restore before a pull could read them.
 * `NONE` sends no class at all, for S3-compatible services that reject the header.
 */
export const STORAGE_CLASSES = [
  'STANDARD',
  'REDUCED_REDUNDANCY',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER_IR',
  'NONE',
] as const;
/** A storage class `storageclass` accepts. */
export type S3StorageClass = (typeof STORAGE_CLASSES)[number];

/** S3's canned object ACLs. */
export const OBJECT_ACLS = [
  'private',
  'public-read',
  'public-read-write',
  'authenticated-read',
  'aws-exec-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
] as const;
/** A canned ACL `objectacl` accepts. */
export type S3ObjectAcl = (typeof OBJECT_ACLS)[number];

/** The reference's `loglevel` values (aws-sdk-go's log levels). */
export const LOG_LEVELS = [
  'off',
  'debug',
  'debugwithsigning',
  'debugwithhttpbody',
  'debugwithrequestretries',
  'debugwithrequesterrors',
  'debugwitheventstreambody',
] as const;
/** A `loglevel` value. */
export type S3LogLevel = (typeof LOG_LEVELS)[number];

/** The validated parameters of the s3 driver, every default applied. */
export interface S3DriverParams {
  /** AWS region of the bucket (`us-east-1`); required, also for S3-compatible services. */
  region: string;
  /** Endpoint URL of an S3-compatible service; null for AWS itself. */
  regionendpoint: string | null;
  /** Path-style addressing (`endpoint/bucket/key`) instead of virtual hosts; default true. */
  forcepathstyle: boolean;
  /** The bucket; it must exist. Required. */
  bucket: string;
  /** Key prefix of the whole tree (no leading or trailing `/` needed); default empty. */
  rootdirectory: string;
  /** Static credentials; both null means the SDK's default provider chain. */
  accesskey: string | null;
  secretkey: string | null;
  /** Server-side encryption: SSE-S3 (`AES256`), or SSE-KMS with `keyid`; default false. */
  encrypt: boolean;
  /** KMS key id for SSE-KMS; null for SSE-S3. Ignored unless `encrypt`. */
  keyid: string | null;
  /** HTTPS (true, the default) or HTTP, when `regionendpoint` does not name a scheme. */
  secure: boolean;
  /** Accept any TLS certificate of the endpoint; default false. */
  skipverify: boolean;
  /** Bytes per uploaded part of a writer, in [5 MiB, 5 GiB]; default 10 MiB. */
  chunksize: number;
  /** Bytes per part of a multipart copy, in [5 MiB, 5 GiB]; default 32 MiB. */
  multipartcopychunksize: number;
  /** Parts of one multipart copy in flight at once, at least 1; default 100. */
  multipartcopymaxconcurrency: number;
  /** Objects larger than this are moved by multipart copy, in [0, 5 GiB]; default 32 MiB. */
  multipartcopythresholdsize: number;
  /** Storage class of every object written; default `STANDARD`. */
  storageclass: S3StorageClass;
  /** Canned ACL of every object written; default `private`. */
  objectacl: S3ObjectAcl;
  /** Appended to the SDK's `User-Agent`; null for none. */
  useragent: string | null;
  /** Accepted for the reference's configurations; see `S3Driver` for why it has no effect. */
  loglevel: S3LogLevel;
}

/** Thrown for a parameter that is missing or has a bad value; `message` names it. */
function invalid(name: string, why: string, raw?: unknown): Error {
  const got = raw === undefined ? '' : `, got ${JSON.stringify(raw)}`;
  return new Error(`storage driver "s3": ${name} ${why}${got}`);
}

function present(raw: unknown): boolean {
  return raw !== undefined && raw !== null;
}

function text(params: Record<string, unknown>, name: string): string | null {
  const raw = params[name];
  if (!present(raw)) return null;
  if (typeof raw !== 'string') throw invalid(name, 'must be a string', raw);
  return raw;
}

/** Booleans may also be strings (`"true"`), as YAML and `REGISTRY_*` variables give them. */
function flag(params: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const raw = params[name];
  if (!present(raw)) return fallback;
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'string') {
    const lowered = raw.trim().toLowerCase();
    if (lowered === 'true') return true;
    if (lowered === 'false') return false;
  }
  throw invalid(name, 'must be a boolean', raw);
}

/** An integer in `[min, max]`; decimal strings are accepted, as the reference does. */
function integer(
  params: Record<string, unknown>,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = params[name];
  if (!present(raw)) return fallback;
  const value = typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw invalid(name, 'must be an integer', raw);
  }
  if (value < min || value > max) throw invalid(name, `must be between ${min} and ${max}`, raw);
  return value;
}

function oneOf<T extends string>(
  params: Record<string, unknown>,
  name: string,
  allowed: readonly T[],
  fallback: T,
  normalise: (s: string) => string,
): T {
  const raw = text(params, name);
  if (raw === null) return fallback;
  const value = allowed.find((v) => v === normalise(raw.trim()));
  if (value === undefined) throw invalid(name, `must be one of ${allowed.join(', ')}`, raw);
  return value;
}

/** `regionendpoint` as a URL with a scheme (`secure` picks one when it has none). */
function endpointURL(raw: string, secure: boolean): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw)
    ? raw
    : `${secure ? 'https' : 'http'}://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw invalid('regionendpoint', 'must be a URL', raw);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid('regionendpoint', 'must be an http or https URL', raw);
  }
  return withScheme;
}

/**
 * Validates the s3 section of a configuration and applies the reference's defaults. Booleans
 * may be given as `true`/`false` strings and sizes as decimal strings. Empty `accesskey` and
 * `secretkey` mean "not given" (the reference's documented way to use instance credentials).
 * Parameters the driver does not know are ignored, as the reference does.
 *
 * @throws Error naming the parameter when one is missing or invalid: `region` and `bucket`
 *   are required; `accesskey` and `secretkey` come together; `v4auth: false` is refused
 *   (the SDK signs with version 4 only).
 */
export function parseS3Params(params: Record<string, unknown>): S3DriverParams {
  const region = text(params, 'region')?.trim() ?? '';
  if (region === '') throw invalid('region', 'is required (a non-empty string)');
  const bucket = text(params, 'bucket')?.trim() ?? '';
  if (bucket === '') throw invalid('bucket', 'is required (a non-empty string)');

  const accesskey = text(params, 'accesskey') || null;
  const secretkey = text(params, 'secretkey') || null;
  if ((accesskey === null) !== (secretkey === null)) {
    const missing = accesskey === null ? 'accesskey' : 'secretkey';
    throw invalid(missing, 'is required when the other key is given');
  }
  if (!flag(params, 'v4auth', true)) {
    throw invalid('v4auth', 'cannot be false: only signature version 4 is supported');
  }

  const secure = flag(params, 'secure', true);
  const endpoint = text(params, 'regionendpoint')?.trim() ?? '';
  const min = MIN_PART_SIZE;
  const max = MAX_PART_SIZE;
  return {
    region,
    regionendpoint: endpoint === '' ? null : endpointURL(endpoint, secure),
    forcepathstyle: flag(params, 'forcepathstyle', true),
    bucket,
    rootdirectory: text(params, 'rootdirectory') ?? '',
    accesskey,
    secretkey,
    encrypt: flag(params, 'encrypt', false),
    keyid: text(params, 'keyid') || null,
    secure,
    skipverify: flag(params, 'skipverify', false),
    chunksize: integer(params, 'chunksize', DEFAULT_CHUNK_SIZE, min, max),
    multipartcopychunksize: integer(
      params,
      'multipartcopychunksize',
      DEFAULT_MULTIPART_COPY_CHUNK_SIZE,
      min,
      max,
    ),
    multipartcopymaxconcurrency: integer(
      params,
      'multipartcopymaxconcurrency',
      DEFAULT_MULTIPART_COPY_MAX_CONCURRENCY,
      1,
      MAX_PARTS,
    ),
    multipartcopythresholdsize: integer(
      params,
      'multipartcopythresholdsize',
      DEFAULT_MULTIPART_COPY_THRESHOLD_SIZE,
      0,
      max,
    ),
    storageclass: oneOf(params, 'storageclass', STORAGE_CLASSES, 'STANDARD', (s) =>
      s.toUpperCase(),
    ),
    objectacl: oneOf(params, 'objectacl', OBJECT_ACLS, 'private', (s) => s),
    useragent: text(params, 'useragent') || null,
    loglevel: oneOf(params, 'loglevel', LOG_LEVELS, 'off', (s) => s.toLowerCase()),
  };
}
