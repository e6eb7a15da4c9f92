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

export interface Config {
  version: '0.1';
  log: LogConfig;
  storage: StorageConfig;
  http: HttpConfig;
}

/** What the loader reports besides the configuration: warnings to log once at start. */
export interface LoadResult {
  config: Readonly<Config>;
  warnings: string[];
}
