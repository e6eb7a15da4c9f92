/**
 * The options of each storage middleware (configuration.md, `middleware.storage`), checked
 * without I/O so that the configuration loader reports a bad option with its key before
 * anything starts. Options a middleware does not know are refused, as unknown keys are
 * everywhere else in the configuration.
 */
import { parseGoDuration } from '../../config/duration.js';

/** A bad option: `key` names it, `problem` says what is wrong. */
export class MiddlewareOptionError extends Error {
  constructor(
    readonly middleware: string,
    readonly key: string,
    readonly problem: string,
  ) {
    super(`middleware ${middleware}: ${key}: ${problem}`);
    this.name = 'MiddlewareOptionError';
  }
}

/** The storage middleware Berth implements. */
export const STORAGE_MIDDLEWARE = ['redirect', 'cloudfront'] as const;

/** Where AWS publishes its IP ranges; the reference's default `iprangesurl`. */
export const DEFAULT_IP_RANGES_URL = 'https://ip-ranges.amazonaws.com/ip-ranges.json';
/** The reference's default `updatefrequency`: 12 hours. */
export const DEFAULT_UPDATE_FREQUENCY_MS = 12 * 3_600_000;
/** The reference's signed URL lifetime when `duration` is not set or has no unit. */
const DEFAULT_DURATION_MS = 20 * 60_000;

/** Which clients get the storage driver's own URL instead of CloudFront's. */
export type IpFilter = 'none' | 'aws' | 'awsregion';

/** The `cloudfront` middleware's options, checked, with the reference's defaults. */
export interface CloudfrontOptions {
  /** Where CloudFront serves the bucket (`SCHEME://HOST[/PATH]`). */
  baseurl: URL;
  /** Path of the key pair's PEM private key; read when the middleware is built. */
  privatekey: string;
  keypairid: string;
  /** Lifetime of a signed URL. */
  durationMs: number;
  /** `aws`: clients inside AWS's ranges go to storage directly; `awsregion`: only in `awsregion`. */
  ipfilteredby: IpFilter;
  /** Lowercase region names (`us-east-1`), for `awsregion`; empty otherwise. */
  awsregion: string[];
  /** How often the ranges are fetched again. */
  updatefrequencyMs: number;
  /** Where the ranges document is fetched from. */
  iprangesurl: string;
}

const REDIRECT_KEYS = ['baseurl'];
const CLOUDFRONT_KEYS = [
  'baseurl',
  'privatekey',
  'keypairid',
  'duration',
  'ipfilteredby',
  'awsregion',
  'updatefrequency',
  // A misspelling in an earlier reference release, which still accepts it.
  'updatefrenquency',
  'iprangesurl',
];

/**
 * Checks the options of the middleware `name`. Throws a {@link MiddlewareOptionError} for a
 * bad option, a plain Error for a middleware Berth does not implement.
 */
export function checkMiddlewareOptions(name: string, options: Record<string, unknown>): void {
  if (name === 'redirect') parseRedirectOptions(options);
  else if (name === 'cloudfront') parseCloudfrontOptions(options);
  else throw unsupportedMiddleware(name);
}

/** The error for a middleware Berth does not implement. */
export function unsupportedMiddleware(name: string): Error {
  return new Error(
    `storage middleware ${name} is not supported (${STORAGE_MIDDLEWARE.join(', ')} are)`,
  );
}

/** The `redirect` middleware's base URL. */
export function parseRedirectOptions(options: Record<string, unknown>): URL {
  refuseUnknown('redirect', options, REDIRECT_KEYS);
  return baseUrlOption(options, 'redirect');
}

/** The `cloudfront` middleware's options; throws naming the first bad one. */
export function parseCloudfrontOptions(options: Record<string, unknown>): CloudfrontOptions {
  const mw = 'cloudfront';
  refuseUnknown(mw, options, CLOUDFRONT_KEYS);
  const baseurl = baseUrlOption(options, mw);
  const { privatekey, keypairid, duration } = options;
  if (typeof privatekey !== 'string' || privatekey === '') {
    throw new MiddlewareOptionError(mw, 'privatekey', 'required (the path of a PEM file)');
  }
  if (typeof keypairid !== 'string' || keypairid === '') {
    throw new MiddlewareOptionError(mw, 'keypairid', 'required');
  }
  // As the reference: no duration, or one without a unit, means 20 minutes.
  const ms = typeof duration === 'string' ? parseGoDuration(duration) : undefined;
  const durationMs = ms === undefined || ms <= 0 ? DEFAULT_DURATION_MS : ms;

  const ipfilteredby = ipFilterOption(options['ipfilteredby']);
  const awsregion = regionsOption(options['awsregion']);
  if (ipfilteredby === 'awsregion' && awsregion.length === 0) {
    throw new MiddlewareOptionError(
      mw,
      'awsregion',
      'required with ipfilteredby awsregion (regions such as us-east-1, comma-separated or a list)',
    );
  }
  if (ipfilteredby !== 'awsregion' && options['awsregion'] !== undefined) {
    throw new MiddlewareOptionError(mw, 'awsregion', 'only used with ipfilteredby awsregion');
  }
  const frequency = options['updatefrequency'] ?? options['updatefrenquency'];
  return {
    baseurl,
    privatekey,
    keypairid,
    durationMs,
    ipfilteredby,
    awsregion,
    updatefrequencyMs: updateFrequencyOption(frequency),
    iprangesurl: ipRangesUrlOption(options['iprangesurl']),
  };
}

/** A base URL option: scheme and host (and port, and for cloudfront a path). */
export function baseUrlOption(options: Record<string, unknown>, middleware: string): URL {
  const raw = options['baseurl'];
  const url = typeof raw === 'string' ? httpUrl(raw) : null;
  if (url === null) {
    throw new MiddlewareOptionError(middleware, 'baseurl', 'must be an http or https URL');
  }
  return url;
}

function refuseUnknown(
  middleware: string,
  options: Record<string, unknown>,
  known: readonly string[],
): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new MiddlewareOptionError(middleware, key, 'unknown option');
  }
}

function httpUrl(text: string): URL | null {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : null;
  } catch {
    return null;
  }
}

/** As the reference: case and surrounding spaces do not matter, and empty means none. */
function ipFilterOption(raw: unknown): IpFilter {
  const problem = 'expected none, aws or awsregion';
  if (raw === undefined) return 'none';
  if (typeof raw !== 'string')
    throw new MiddlewareOptionError('cloudfront', 'ipfilteredby', problem);
  const value = raw.trim().toLowerCase();
  if (value === '' || value === 'none') return 'none';
  if (value === 'aws' || value === 'awsregion') return value;
  throw new MiddlewareOptionError('cloudfront', 'ipfilteredby', `${problem}, got ${raw}`);
}

/** `us-east-1, eu-west-1` or a YAML list, lowercased as the reference compares them. */
function regionsOption(raw: unknown): string[] {
  const problem = 'expected region names such as us-east-1, comma-separated or a list';
  if (raw === undefined) return [];
  let items: unknown[];
  if (typeof raw === 'string') items = raw.split(',');
  else if (Array.isArray(raw)) items = raw;
  else throw new MiddlewareOptionError('cloudfront', 'awsregion', problem);
  const regions: string[] = [];
  for (const item of items) {
    const region = typeof item === 'string' ? item.trim().toLowerCase() : null;
    if (region === '') continue;
    if (region === null || !/^[a-z0-9-]+$/.test(region)) {
      throw new MiddlewareOptionError('cloudfront', 'awsregion', problem);
    }
    regions.push(region);
  }
  return regions;
}

function updateFrequencyOption(raw: unknown): number {
  if (raw === undefined) return DEFAULT_UPDATE_FREQUENCY_MS;
  const ms = typeof raw === 'string' ? parseGoDuration(raw) : undefined;
  if (ms === undefined || ms <= 0) {
    throw new MiddlewareOptionError(
      'cloudfront',
      'updatefrequency',
      'expected a positive duration such as 12h or 30m',
    );
  }
  return ms;
}

function ipRangesUrlOption(raw: unknown): string {
  if (raw === undefined) return DEFAULT_IP_RANGES_URL;
  const url = typeof raw === 'string' ? httpUrl(raw) : null;
  if (url === null) {
    throw new MiddlewareOptionError('cloudfront', 'iprangesurl', 'must be an http or https URL');
  }
  return url.toString();
}
