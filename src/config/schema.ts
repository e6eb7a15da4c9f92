/**
 * The zod schema of a configuration file in the reference registry's `config.yml` format,
 * after environment overrides and before defaults are filled in (see load.ts).
 *
 * Every key is optional here; defaults are applied by the loader so that the embedded
 * default configuration and a user's file share one set of rules. Objects are strict: an
 * unknown key is an error naming it, because a misspelt key silently ignored would leave a
 * setting at a default the operator did not choose.
 */
import { z } from 'zod';
import {
  checkRedisNeeded,
  cacheSectionSchema,
  redisSectionSchema,
} from '../core/cache/settings.js';
import { checkMiddlewareOptions, MiddlewareOptionError } from '../drivers/middleware/options.js';
import { parseS3Params } from '../drivers/s3/params.js';
import { parseGoDuration } from './duration.js';
import {
  isRecord,
  dropNulls,
  section,
  text,
  bool,
  durationText,
  integer,
  ignored,
  refused,
  unsupportedDriver,
} from './schema-kit.js';

/** Storage drivers Berth implements. */
export const SUPPORTED_DRIVERS = ['filesystem', 'inmemory', 's3'] as const;

/** Storage drivers the reference registry has and Berth does not implement yet. */
export const UNSUPPORTED_DRIVERS = ['azure', 'gcs', 'oss', 'swift'] as const;

/** Every key of the `storage` section that names a driver rather than an option. */
export const DRIVER_KEYS: readonly string[] = [...SUPPORTED_DRIVERS, ...UNSUPPORTED_DRIVERS];

const logLevel = z
  .preprocess(
    (v) => (typeof v === 'string' ? v.toLowerCase() : v),
    z.enum(['error', 'warn', 'warning', 'info', 'debug'], {
      error: 'expected one of error, warn, info, debug',
    }),
  )
  .optional();

const logSchema = section({
  level: logLevel,
  formatter: z
    .enum(['text', 'json', 'logstash'], { error: 'expected one of text, json, logstash' })
    .optional(),
  fields: z.preprocess(dropNulls, z.record(z.string(), text().unwrap())).optional(),
  accesslog: section({ disabled: bool() }),
  hooks: ignored(),
});

const filesystemSchema = section({
  rootdirectory: text()
    .unwrap()
    .refine((v) => v !== '', 'expected a non-empty path')
    .optional(),
  // The reference raises a lower value to 25 rather than refusing it (load.ts does too).
  maxthreads: integer(1),
});

const inmemorySchema = section({});

/**
 * The s3 parameters (storage-drivers/s3.md), listed so REGISTRY_STORAGE_S3_* resolve. The
 * string ones are declared as such so that a variable keeps its text (a secret key `0123`
 * stays `0123`, as the reference reads it); the driver parses the rest.
 */
const s3TextKeys = [
  'region',
  'regionendpoint',
  'bucket',
  'rootdirectory',
  'accesskey',
  'secretkey',
  'keyid',
  'storageclass',
  'objectacl',
  'useragent',
  'loglevel',
] as const;
const s3OtherKeys = [
  'forcepathstyle',
  'encrypt',
  'secure',
  'skipverify',
  'v4auth',
  'chunksize',
  'multipartcopychunksize',
  'multipartcopymaxconcurrency',
  'multipartcopythresholdsize',
] as const;

/** The s3 section: checked by the driver's own parameter parser, whose messages name keys. */
const s3Schema = z
  .preprocess(
    dropNulls,
    z
      .object({
        ...Object.fromEntries(s3TextKeys.map((k) => [k, text()])),
        ...Object.fromEntries(s3OtherKeys.map((k) => [k, z.unknown().optional()])),
      })
      .strict()
      .superRefine((params, ctx) => {
        try {
          parseS3Params(params);
        } catch (err) {
          ctx.addIssue({
            code: 'custom',
            message: err instanceof Error ? err.message : String(err),
          });
        }
      }),
  )
  .optional();

/**
 * The driver keys are mutually exclusive; storage given as a bare string (`storage: inmemory`,
 * which the reference also accepts) names a driver without parameters.
 */
function normaliseStorage(value: unknown): unknown {
  if (typeof value === 'string') return { [value]: {} };
  if (value === null) return {};
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (DRIVER_KEYS.includes(key)) out[key] = v ?? {};
    else if (v !== null) out[key] = v;
  }
  return out;
}

const storageSchema = z
  .preprocess(
    normaliseStorage,
    z
      .object({
        filesystem: filesystemSchema,
        inmemory: inmemorySchema,
        s3: s3Schema,
        azure: unsupportedDriver('azure'),
        gcs: unsupportedDriver('gcs'),
        oss: unsupportedDriver('oss'),
        swift: unsupportedDriver('swift'),
        delete: section({ enabled: bool() }),
        maintenance: section({
          uploadpurging: section({
            enabled: bool(),
            age: durationText(true),
            interval: durationText(true),
            dryrun: bool(),
          }),
          readonly: section({ enabled: bool() }),
        }),
        redirect: section({ disable: bool() }),
        cache: cacheSectionSchema,
        tag: section({ concurrencylimit: integer(0) }),
      })
      .strict(),
  )
  .superRefine(
    (value, ctx) => {
      if (!isRecord(value)) return;
      const drivers = Object.keys(value).filter((k) => DRIVER_KEYS.includes(k));
      if (drivers.length === 0) {
        ctx.addIssue({
          code: 'custom',
          message: 'no storage driver configured; expected exactly one of filesystem, inmemory, s3',
        });
      } else if (drivers.length > 1) {
        ctx.addIssue({
          code: 'custom',
          message: `more than one storage driver (${drivers.join(', ')}); expected exactly one`,
        });
      }
    },
    // Runs even when a driver's own parameters are invalid, so both problems are reported.
    { when: () => true },
  );

/** http.tls is refused only when it would make the reference serve TLS. */
const tlsSchema = z
  .unknown()
  .refine((v) => {
    if (!isRecord(v)) return true;
    const acme = v['letsencrypt'];
    return !isSet(v['certificate']) && !(isRecord(acme) && isSet(acme['cachefile']));
  }, 'TLS is not supported yet by Berth; terminate TLS in a reverse proxy in front of it')
  .optional();

function isSet(value: unknown): boolean {
  return typeof value === 'string' && value !== '';
}

const headerValues = z.union([z.array(text().unwrap()), text().unwrap()], {
  error: 'expected a list of strings',
});

const httpSchema = section({
  addr: text(),
  net: z.enum(['tcp', 'unix'], { error: 'expected tcp or unix' }).optional(),
  prefix: text(),
  host: text()
    .unwrap()
    .refine((v) => v === '' || isHttpUrl(v), 'expected an absolute http or https URL')
    .optional(),
  secret: text(),
  relativeurls: bool(),
  // Berth extension (the reference has no such key): see src/http/gateway.ts.
  gateway: bool(),
  headers: z.preprocess(dropNulls, z.record(z.string(), headerValues)).optional(),
  draintimeout: z
    .union([z.string(), z.number()], { error: 'expected a duration such as 60s' })
    .refine((v) => {
      const ms = typeof v === 'number' ? v / 1e6 : parseGoDuration(v);
      return ms !== undefined && Number.isFinite(ms) && ms >= 0;
    }, 'expected a non-negative duration such as 60s or 1m30s')
    .optional(),
  tls: tlsSchema,
  debug: ignored(),
  http2: ignored(),
  h2c: ignored(),
});

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Auth providers the `auth` section may name; `none` means an open registry. */
export const AUTH_KINDS: readonly string[] = ['silly', 'htpasswd', 'token', 'none'];

/**
 * JWS algorithms a token may be signed with, and the default of
 * `auth.token.signingalgorithms`. HMAC algorithms are left out on purpose: with them the
 * verification key is a shared secret, and a public key (which anyone may read) could be
 * used as one to forge tokens.
 */
export const TOKEN_SIGNING_ALGORITHMS: readonly string[] =
  'RS256 RS384 RS512 ES256 ES384 ES512 PS256 PS384 PS512 EdDSA'.split(' ');

function requiredText() {
  return text()
    .unwrap()
    .refine((v) => v !== '', 'expected a non-empty string');
}

const signingAlgorithm = z.string({ error: 'expected an algorithm name' }).superRefine((v, ctx) => {
  let message: string | undefined;
  if (v.toLowerCase() === 'none') {
    message = 'none is refused: tokens must be signed';
  } else if (/^HS/i.test(v)) {
    message = `${v} is refused: an HMAC algorithm would accept a public key as its secret`;
  } else if (!TOKEN_SIGNING_ALGORITHMS.includes(v)) {
    message = `unsupported algorithm ${v}; expected one of ${TOKEN_SIGNING_ALGORITHMS.join(', ')}`;
  }
  if (message !== undefined) ctx.addIssue({ code: 'custom', message });
});

const tokenSchema = section({
  realm: requiredText(),
  service: requiredText(),
  issuer: requiredText(),
  rootcertbundle: text(),
  jwks: text(),
  autoredirect: bool(),
  autoredirectpath: text()
    .unwrap()
    .refine((v) => v.startsWith('/'), 'expected a path starting with /')
    .optional(),
  // A single name (as a REGISTRY_AUTH_TOKEN_SIGNINGALGORITHMS value may give) is a list of one.
  signingalgorithms: z
    .preprocess(
      (v) => (typeof v === 'string' ? [v] : v),
      z.array(signingAlgorithm, { error: 'expected a list of algorithm names' }),
    )
    .optional(),
}).superRefine(
  (value, ctx) => {
    if (!isRecord(value) || isSet(value['rootcertbundle']) || isSet(value['jwks'])) return;
    ctx.addIssue({ code: 'custom', message: 'expected at least one of rootcertbundle, jwks' });
  },
  // Runs even when another key is invalid, so that every problem is reported at once.
  { when: () => true },
);

/**
 * The provider keys are mutually exclusive. A provider given with nothing after it
 * (`htpasswd:`) is kept as an empty section so that its missing parameters are reported:
 * dropping it as an unset key would start an open registry. A bare string
 * (`auth: none`, `REGISTRY_AUTH=none`) names a provider without parameters.
 */
function normaliseAuth(value: unknown): unknown {
  if (typeof value === 'string') return { [value]: {} };
  if (value === null) return {};
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (AUTH_KINDS.includes(key)) out[key] = v ?? {};
    else if (v !== null) out[key] = v;
  }
  return out;
}

const authSchema = z
  .preprocess(
    normaliseAuth,
    z
      .object({
        silly: section({ realm: requiredText(), service: requiredText() }),
        htpasswd: section({ realm: requiredText(), path: requiredText() }),
        token: tokenSchema,
        // The reference reads no parameters for `none`.
        none: ignored(),
      })
      .strict(),
  )
  .superRefine(
    (value, ctx) => {
      if (!isRecord(value)) return;
      const kinds = Object.keys(value).filter((k) => AUTH_KINDS.includes(k));
      if (kinds.length > 1) {
        ctx.addIssue({
          code: 'custom',
          message: `more than one auth provider (${kinds.join(', ')}); expected at most one`,
        });
      }
    },
    { when: () => true },
  )
  .optional();

/** A Go regular expression list; each must compile as a JavaScript one too. */
const patterns = z
  .array(z.string({ error: 'expected a list of regular expressions' }))
  .superRefine((list, ctx) => {
    list.forEach((source, i) => {
      try {
        new RegExp(source);
      } catch (err) {
        ctx.addIssue({
          code: 'custom',
          path: [i],
          message: `bad regular expression: ${String(err)}`,
        });
      }
    });
  })
  .optional();

/** `validation` (configuration-v3.md): what pushed manifests may contain. */
const validationSchema = section({
  enabled: bool(),
  disabled: bool(),
  manifests: section({
    urls: section({ allow: patterns, deny: patterns }),
    indexes: section({
      platforms: z
        .enum(['all', 'none', 'list'], { error: 'expected all, none or list' })
        .optional(),
      platformlist: z
        .array(z.object({ os: z.string(), architecture: z.string() }).strict())
        .optional(),
    }),
  }),
});

/**
 * `middleware`: storage middleware (redirect, cloudfront) is applied around the driver;
 * registry and repository middleware, plugins of the Go registry, cannot exist here. Each
 * storage middleware's options are checked by the middleware's own parser, whose problems
 * name the option (`middleware.storage.0.options.ipfilteredby: ...`).
 */
const middlewareSchema = section({
  registry: refused('middleware.registry', []),
  repository: refused('middleware.repository', []),
  storage: z
    .array(
      z
        .object({
          name: z.string({ error: 'expected a middleware name' }),
          options: z.preprocess(dropNulls, z.record(z.string(), z.unknown())).optional(),
        })
        .strict()
        .superRefine(({ name, options }, ctx) => {
          try {
            checkMiddlewareOptions(name, options ?? {});
          } catch (err) {
            const bad = err instanceof MiddlewareOptionError;
            ctx.addIssue({
              code: 'custom',
              path: bad ? ['options', err.key] : ['name'],
              message: bad ? err.problem : err instanceof Error ? err.message : String(err),
            });
          }
        }),
      { error: 'expected a list of {name, options}' },
    )
    .optional(),
});

/** `compatibility.schema1`: Docker schema 1 manifests. */
const compatibilitySchema = section({
  schema1: section({ enabled: bool(), signingkeyfile: text() }),
});

/**
 * The whole document (parsed YAML after environment overrides). Only `version` and `storage`
 * are required; refused sections and unsupported drivers fail validation with a message
 * saying so, ignored ones pass as they are. `version` is checked as written: YAML reads
 * `0.1` as a number and `"0.1"` as a string, and the reference accepts both.
 */
export const configSchema = section({
  version: z.union([z.literal('0.1'), z.literal(0.1)], {
    error: (issue) =>
      issue.input === undefined ? 'required (must be 0.1)' : 'unsupported version; expected 0.1',
  }),
  log: logSchema,
  loglevel: logLevel,
  storage: storageSchema,
  http: httpSchema,
  auth: authSchema,
  proxy: refused('proxy', ['remoteurl', 'username', 'password', 'ttl', 'exec']),
  middleware: middlewareSchema,
  validation: validationSchema,
  compatibility: compatibilitySchema,
  reporting: ignored(),
  health: ignored(),
  notifications: ignored(),
  redis: redisSectionSchema,
})
  .unwrap()
  // Runs even when a section is invalid, so that every problem is reported at once.
  .superRefine(checkRedisNeeded, { when: () => true });

/** A configuration file as validated by {@link configSchema}, before defaults. */
export type ConfigFile = z.output<typeof configSchema>;

/** Top-level sections accepted only to be ignored, each reported by a warning. */
export const IGNORED_SECTIONS = ['reporting', 'health', 'notifications'] as const;
