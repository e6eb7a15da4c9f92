/**
 * The validated configuration, with every default filled in. The file format is the
 * reference registry's `config.yml` (see configuration.md); this is what the loader hands
 * to the rest of Berth after validation, frozen.
 */

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface LogConfig {
  level: LogLevel;
  formatter: 'json' | 'text';
  /** Static fields added to every log line. */
  fields: Record<string, string>;
  accesslog: { disabled: boolean };
}

/**
 * The storage section: exactly one driver, with its parameters as written (each driver
 * validates its own), plus the registry-wide storage options.
 */
export interface StorageConfig {
  /** `filesystem`, `inmemory`, ... */
  driver: string;
  /** The driver's own parameters (for filesystem: rootdirectory, maxthreads). */
  parameters: Record<string, unknown>;
  delete: { enabled: boolean };
  maintenance: {
    uploadpurging: { enabled: boolean; age: string; interval: string; dryrun: boolean };
    readonly: { enabled: boolean };
  };
  redirect: { disable: boolean };
  /** `middleware.storage`, in order: `redirect` and `cloudfront` wrap the driver's URLs. */
  middleware: { name: string; options: Record<string, unknown> }[];
  /** `storage.cache` (with the `redis` section when it names Redis). */
  cache: BlobCacheConfig;
}

/**
 * The blob descriptor cache (`storage.cache.blobdescriptor`, or its old name `layerinfo`):
 * `none` when unset, which keeps only blob sizes in memory and reads every link from
 * storage; `inmemory` adds links to that, bounded; `redis` shares both between replicas.
 */
export interface BlobCacheConfig {
  kind: 'none' | 'inmemory' | 'redis';
  /** `blobdescriptorsize`: most in-memory entries (default 10000); 0 means no bound. */
  size: number;
  /** The top-level `redis` section; present exactly when `kind` is `redis`. */
  redis?: RedisConfig;
}

/**
 * The top-level `redis` section, as the reference names it. Durations are in milliseconds,
 * 0 where not set; paths are absolute.
 */
export interface RedisConfig {
  /** `host:port` of the one Redis server (`addr`, or the single entry of `addrs`). */
  addr: string;
  username: string;
  password: string;
  db: number;
  dialtimeoutMs: number;
  readtimeoutMs: number;
  writetimeoutMs: number;
  /** Accepted for compatibility; Berth uses one pipelined connection (see core/cache). */
  pool: { maxidle: number; maxactive: number; idletimeoutMs: number };
  /** Null for a plain TCP connection. */
  tls: RedisTlsConfig | null;
}

export interface RedisTlsConfig {
  /** Client certificate and key (PEM files) for mutual TLS, or null for none. */
  certificate: string | null;
  key: string | null;
  /** CA certificates (PEM files) to check the server's certificate with; empty: the system's. */
  cas: string[];
}

export interface HttpConfig {
  /** `host:port` for tcp, a socket path for unix. */
  addr: string;
  net: 'tcp' | 'unix';
  /** Path prefix the routes live under (`/` when none), always starting and ending with `/`. */
  prefix: string;
  /** External URL of the registry, used to build absolute `Location` headers; '' when unset. */
  host: string;
  /** Secret for signing upload state; generated (with a warning) when absent. */
  secret: string;
  /** Whether `secret` was generated because the configuration had none. */
  secretGenerated: boolean;
  relativeurls: boolean;
  /**
   * Berth extension: a gateway thread owns the TCP port so that TLS probes are answered at
   * once and absolute-form requests work (src/http/gateway.ts). Default true.
   */
  gateway: boolean;
  /** Headers added to every response. */
  headers: Record<string, string[]>;
  /** Milliseconds to wait for in-flight requests on shutdown. */
  draintimeoutMs: number;
}

/** `auth.silly`: any request with an Authorization header passes (development only). */
export interface SillyAuthConfig {
  kind: 'silly';
  realm: string;
  service: string;
}

/** `auth.htpasswd`: Basic credentials checked against a bcrypt htpasswd file. */
export interface HtpasswdAuthConfig {
  kind: 'htpasswd';
  realm: string;
  /** Absolute path of the htpasswd file (created with a random admin user when missing). */
  path: string;
}

/** `auth.token`: Bearer JWTs from a token server (spec/auth/token.md, jwt.md). */
export interface TokenAuthConfig {
  kind: 'token';
  realm: string;
  service: string;
  issuer: string;
  /** PEM bundle of the certificates that may sign tokens (directly or as x5c roots). */
  rootcertbundle: string | null;
  /** Path of a JWKS file with the keys that may sign tokens, found by `kid`. */
  jwks: string | null;
  /** Build the realm from the request's host and `autoredirectpath`. */
  autoredirect: boolean;
  autoredirectpath: string;
  /** JWS algorithms accepted; never `none`. */
  signingalgorithms: string[];
}

/** The `auth` section: one controller, or none for an open registry. */
export type AuthConfig = SillyAuthConfig | HtpasswdAuthConfig | TokenAuthConfig;

/**
 * How pushed manifests are judged (`validation`, `compatibility`), resolved to what the
 * registry applies: the reference's defaults and its rule that `disabled` turns it all off.
 */
export interface ManifestPolicyConfig {
  /** `compatibility.schema1.enabled`. */
  schema1: boolean;
  /** Layer URL rules; null when validation is disabled (any URL passes). */
  urls: { allow: string[]; deny: string[] } | null;
  /** Which children of an index must exist: all, none, or those of listed platforms. */
  indexes: { mode: 'all' | 'none' | 'list'; platforms: { os: string; architecture: string }[] };
}

export interface Config {
  version: '0.1';
  log: LogConfig;
  storage: StorageConfig;
  http: HttpConfig;
  /** Null when the configuration has no (or an empty) `auth` section. */
  auth: AuthConfig | null;
  manifests: ManifestPolicyConfig;
}

/** What the loader reports besides the configuration: warnings to log once at start. */
export interface LoadResult {
  config: Readonly<Config>;
  warnings: string[];
}
