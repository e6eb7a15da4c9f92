/**
 * The configuration loader: YAML file (or the embedded default), then `REGISTRY_*`
 * environment overrides, then validation, then defaults. Every problem is collected and
 * reported at once so that an operator fixes a file in one pass, not one error per start.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { buildBlobCacheConfig } from '../core/cache/settings.js';
import { parseGoDuration } from './duration.js';
import { applyEnvOverrides } from './env.js';
import {
  configSchema,
  DRIVER_KEYS,
  IGNORED_SECTIONS,
  TOKEN_SIGNING_ALGORITHMS,
  type ConfigFile,
} from './schema.js';
import type {
  AuthConfig,
  Config,
  HttpConfig,
  LoadResult,
  LogConfig,
  ManifestPolicyConfig,
  StorageConfig,
} from './types.js';

/**
 * Thrown by {@link loadConfig} when the configuration cannot be used. `problems` holds one
 * line per problem, each starting with the dotted key path (or the file or variable name)
 * it is about; `message` lists them all.
 */
export class ConfigError extends Error {
  /** Every problem found, e.g. `storage.filesystem.maxthreads: expected integer >= 25`. */
  readonly problems: string[];

  constructor(problems: string[], source: string) {
    const noun = problems.length === 1 ? 'problem' : 'problems';
    super(
      `invalid configuration (${source}), ${problems.length} ${noun}:\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * The configuration used when no file is given: a private development registry on the
 * loopback interface, storing under `./data` (resolved against the working directory).
 * Environment overrides apply to it as to a file.
 */
export const embeddedDefaultConfig = `version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: ./data
http:
  addr: 127.0.0.1:5000
`;

/** The reference registry's defaults for keys a configuration file leaves out. */
const DEFAULTS = {
  addr: ':5000',
  rootdirectory: '/var/lib/registry',
  maxthreads: 100,
  uploadpurging: { enabled: true, age: '168h', interval: '24h', dryrun: false },
} as const;

/**
 * Loads, overrides, validates and completes the configuration.
 *
 * `path` is the YAML file (relative paths resolve against `cwd`); `undefined` uses
 * {@link embeddedDefaultConfig}. `REGISTRY_*` variables of `env` override keys as in the
 * reference registry. A relative `storage.filesystem.rootdirectory`, and the relative paths of
 * the `auth` section (htpasswd `path`, token `rootcertbundle` and `jwks`), resolve against `cwd`.
 *
 * Resolves to the deep-frozen configuration with every default filled in, plus warnings to
 * log once (ignored sections, unknown variables, a generated secret). Rejects with a
 * {@link ConfigError} listing every problem found, including a missing or unreadable file.
 */
export async function loadConfig(
  path: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): Promise<LoadResult> {
  const source = path === undefined ? 'embedded default configuration' : resolve(cwd, path);
  const text = path === undefined ? embeddedDefaultConfig : await readConfigFile(source);
  const root = parseDocument(text, source);

  const overrides = applyEnvOverrides(root, env);
  const problems = [...overrides.problems];
  const parsed = configSchema.safeParse(root, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      for (const line of formatIssue(issue)) problems.push(attribute(line, overrides.origins));
    }
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems, source);

  const warnings = [...overrides.warnings];
  const config = buildConfig(parsed.data, cwd, warnings);
  return { config: deepFreeze(config), warnings };
}

async function readConfigFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const problem =
      code === 'ENOENT'
        ? `${file}: configuration file not found`
        : `${file}: cannot read configuration file (${code ?? String(err)})`;
    throw new ConfigError([problem], file);
  }
}

/**
 * YAML 1.1, as the reference's yaml.v2 reads it: `yes`/`on` are booleans there, and a
 * config written for it must mean the same here.
 */
function parseDocument(text: string, source: string): Record<string, unknown> {
  const doc = YAML.parseDocument(text, { version: '1.1' });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => `${source}: ${e.message.split('\n')[0] ?? ''}`),
      source,
    );
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError([`${source}: expected a YAML mapping at the top level`], source);
  }
  return value as Record<string, unknown>;
}

function formatIssue(issue: z.core.$ZodIssue): string[] {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `${[...path, key].join('.')}: unknown key`);
  }
  let message = issue.message;
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    message = 'required';
  } else if (issue.code === 'invalid_type' && message.startsWith('Invalid input')) {
    message = `expected ${issue.expected}, got ${describe(issue.input)}`;
  }
  return [`${path.length > 0 ? path.join('.') : '(top level)'}: ${message}`];
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/**
 * Names the variables behind a problem, since the file may not even mention the key: the one
 * that set the key (or a section above it), else those that set keys inside it.
 */
function attribute(line: string, origins: ReadonlyMap<string, string>): string {
  const key = line.slice(0, line.indexOf(':'));
  const inside: string[] = [];
  for (const [path, name] of origins) {
    if (key === path || key.startsWith(`${path}.`)) return `${line} (set by ${name})`;
    if (path.startsWith(`${key}.`)) inside.push(name);
  }
  return inside.length > 0 ? `${line} (see ${inside.join(', ')})` : line;
}

function buildConfig(file: ConfigFile, cwd: string, warnings: string[]): Config {
  for (const name of IGNORED_SECTIONS) {
    if (file[name] !== undefined) warnings.push(`${name}: not implemented by Berth, ignored`);
  }
  return {
    version: '0.1',
    log: buildLog(file, warnings),
    storage: {
      ...buildStorage(file.storage, cwd, warnings),
      cache: buildBlobCacheConfig(file.storage.cache, file.redis, cwd, warnings),
      middleware: (file.middleware?.storage ?? []).map(({ name, options }) => ({
        name,
        options: { ...options },
      })),
    },
    http: buildHttp(file.http ?? {}, warnings),
    auth: openWarning(buildAuth(file.auth, cwd), file, warnings),
    manifests: buildManifestPolicy(file, warnings),
  };
}

/** The reference's default for `auth.token.autoredirectpath`. */
const defaultAutoRedirectPath = '/auth/token';

/** Validation guarantees at most one provider and, for token, a bundle or a JWKS file. */
function buildAuth(auth: ConfigFile['auth'], cwd: string): AuthConfig | null {
  if (auth?.silly !== undefined) {
    return { kind: 'silly', realm: auth.silly.realm, service: auth.silly.service };
  }
  if (auth?.htpasswd !== undefined) {
    return { kind: 'htpasswd', realm: auth.htpasswd.realm, path: resolve(cwd, auth.htpasswd.path) };
  }
  if (auth?.token !== undefined) {
    const token = auth.token;
    const optionalPath = (p: string | undefined) =>
      p === undefined || p === '' ? null : resolve(cwd, p);
    const algorithms = token.signingalgorithms ?? [];
    return {
      kind: 'token',
      realm: token.realm,
      service: token.service,
      issuer: token.issuer,
      rootcertbundle: optionalPath(token.rootcertbundle),
      jwks: optionalPath(token.jwks),
      autoredirect: token.autoredirect ?? false,
      autoredirectpath: token.autoredirectpath ?? defaultAutoRedirectPath,
      // An empty list means the default, as in the reference.
      signingalgorithms: algorithms.length > 0 ? [...algorithms] : [...TOKEN_SIGNING_ALGORITHMS],
    };
  }
  // No section, an empty one, or `none`: an open registry.
  return null;
}

function buildLog(file: ConfigFile, warnings: string[]): LogConfig {
  const log = file.log ?? {};
  if (file.loglevel !== undefined) {
    warnings.push(
      log.level === undefined
        ? 'loglevel: deprecated, use log.level (honoured because log.level is not set)'
        : 'loglevel: deprecated and overridden by log.level',
    );
  }
  const level = log.level ?? file.loglevel ?? 'info';
  let formatter: LogConfig['formatter'] = 'text';
  if (log.formatter === 'logstash') {
    warnings.push('log.formatter: logstash is not implemented by Berth, using json');
    formatter = 'json';
  } else if (log.formatter !== undefined) {
    formatter = log.formatter;
  }
  if (log.hooks !== undefined) warnings.push('log.hooks: not implemented by Berth, ignored');
  return {
    level: level === 'warning' ? 'warn' : level,
    formatter,
    fields: { ...log.fields },
    accesslog: { disabled: log.accesslog?.disabled ?? false },
  };
}

/** The filesystem driver's floor for `maxthreads`, as in the reference. */
const minMaxThreads = 25;

function buildStorage(
  storage: ConfigFile['storage'],
  cwd: string,
  warnings: string[],
): Omit<StorageConfig, 'cache'> {
  // `storage.cache` is built with the `redis` section (core/cache/settings.ts).
  // Validation guarantees exactly one driver key, and a supported one.
  const driver = Object.keys(storage).find((key) => DRIVER_KEYS.includes(key)) ?? 'inmemory';
  let parameters: Record<string, unknown> = {};
  if (driver === 'filesystem') {
    const fs = storage.filesystem ?? {};
    let maxthreads = fs.maxthreads ?? DEFAULTS.maxthreads;
    if (maxthreads < minMaxThreads) {
      warnings.push(
        `storage.filesystem.maxthreads: ${maxthreads} is below ${minMaxThreads}, using ${minMaxThreads}`,
      );
      maxthreads = minMaxThreads;
    }
    parameters = {
      rootdirectory: resolve(cwd, fs.rootdirectory ?? DEFAULTS.rootdirectory),
      maxthreads,
    };
  }
  if (driver === 's3') parameters = { ...storage.s3 };
  if (storage.tag !== undefined) warnings.push('storage.tag: not implemented, ignored');
  const purging = storage.maintenance?.uploadpurging ?? {};
  return {
    driver,
    parameters,
    delete: { enabled: storage.delete?.enabled ?? false },
    maintenance: {
      uploadpurging: {
        enabled: purging.enabled ?? DEFAULTS.uploadpurging.enabled,
        age: purging.age ?? DEFAULTS.uploadpurging.age,
        interval: purging.interval ?? DEFAULTS.uploadpurging.interval,
        dryrun: purging.dryrun ?? DEFAULTS.uploadpurging.dryrun,
      },
      readonly: { enabled: storage.maintenance?.readonly?.enabled ?? false },
    },
    redirect: { disable: storage.redirect?.disable ?? false },
    middleware: [],
  };
}

function buildHttp(http: NonNullable<ConfigFile['http']>, warnings: string[]): HttpConfig {
  for (const key of ['debug', 'http2', 'h2c', 'tls'] as const) {
    if (http[key] !== undefined) warnings.push(`http.${key}: not implemented by Berth, ignored`);
  }
  let secret = http.secret ?? '';
  const secretGenerated = secret === '';
  if (secretGenerated) {
    secret = randomBytes(32).toString('hex');
    warnings.push(
      'http.secret: not set, using a random secret for this process only; uploads in ' +
        'progress will not survive a restart, and instances behind one load balancer ' +
        'must share a secret',
    );
  }
  const headers: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(http.headers ?? {})) {
    headers[name] = Array.isArray(values) ? [...values] : [values];
  }
  return {
    addr: http.addr === undefined || http.addr === '' ? DEFAULTS.addr : http.addr,
    net: http.net ?? 'tcp',
    prefix: normalisePrefix(http.prefix ?? ''),
    host: http.host ?? '',
    secret,
    secretGenerated,
    relativeurls: http.relativeurls ?? false,
    gateway: http.gateway ?? true,
    headers,
    draintimeoutMs: drainTimeoutMs(http.draintimeout),
  };
}

/** `''` → `/`, `v2reg` → `/v2reg/`, `/a/b` → `/a/b/`: routes append `v2/` directly. */
function normalisePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '/' : `/${trimmed}/`;
}

/**
 * A bare number is nanoseconds, as when yaml.v2 decodes an integer into a Go
 * time.Duration; absent means 0, for which the reference does not wait at all.
 */
function drainTimeoutMs(value: string | number | undefined): number {
  if (value === undefined) return 0;
  if (typeof value === 'number') return value / 1e6;
  return parseGoDuration(value) ?? 0;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * The manifest policy, as the reference derives it: validation is on unless `disabled` (or
 * an explicit `enabled: false`); when on, layer URLs must match `allow` (none allowed when
 * neither list is set) and not `deny`, and index children are checked per `indexes`; when
 * off, neither is checked.
 */
function buildManifestPolicy(file: ConfigFile, warnings: string[]): ManifestPolicyConfig {
  const validation = file.validation ?? {};
  const enabled = validation.enabled ?? !(validation.disabled ?? false);
  const schema1 = file.compatibility?.schema1;
  if (schema1?.signingkeyfile !== undefined) {
    warnings.push(
      'compatibility.schema1.signingkeyfile: Berth stores schema 1 manifests as pushed and never re-signs them, ignored',
    );
  }
  if (!enabled)
    return {
      schema1: schema1?.enabled ?? false,
      urls: null,
      indexes: { mode: 'none', platforms: [] },
    };
  const urls = validation.manifests?.urls ?? {};
  const indexes = validation.manifests?.indexes ?? {};
  const mode = indexes.platforms ?? 'all';
  if (mode !== 'all') {
    warnings.push(
      `validation.manifests.indexes.platforms: ${mode} accepts indexes whose images are missing`,
    );
  }
  return {
    schema1: schema1?.enabled ?? false,
    urls: { allow: [...(urls.allow ?? [])], deny: [...(urls.deny ?? [])] },
    indexes: { mode, platforms: (indexes.platformlist ?? []).map((p) => ({ ...p })) },
  };
}

/**
 * An `auth` section that configures no controller leaves the registry open, as in the
 * reference; say so, since the operator evidently meant something by writing it.
 */
function openWarning(
  auth: AuthConfig | null,
  file: ConfigFile,
  warnings: string[],
): AuthConfig | null {
  if (auth === null && file.auth !== undefined) {
    warnings.push('auth: no access controller configured, the registry is open to everyone');
  }
  return auth;
}
