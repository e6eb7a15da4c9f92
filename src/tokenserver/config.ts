/**
 * The token server's configuration file (`berth token-server <config.yml>`):
 *
 * ```yaml
 * addr: 127.0.0.1:5001          # host:port to listen on; port 0 picks a free one
 * issuer: berth-token-server    # `iss` of every token; the registry's auth.token.issuer
 * service: registry.example     # accepted `service` values (the `aud`); a string or a list
 * key: token.key                # PEM private key: RSA >= 2048, ECDSA P-256/384/521, Ed25519
 * certificate: token.crt        # optional PEM chain for the key: tokens then carry x5c
 * expiration: 5m                # access token lifetime (Go duration), at least 60s
 * refreshexpiration: 720h       # optional refresh token lifetime; 0 or absent: no expiry
 * htpasswd: htpasswd            # optional bcrypt htpasswd file; absent: anonymous only
 * acl: acl.yml                  # the access control list (see acl.ts)
 * log: { level: info, formatter: json }
 * ```
 *
 * Relative paths are relative to the configuration file. Unknown keys are errors.
 */
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { parseGoDuration } from '../config/duration.js';
import type { LogConfig } from '../config/types.js';
import { readYamlWith } from './yaml-file.js';

/** The validated configuration, paths absolute. */
export interface TokenServerConfig {
  host: string;
  port: number;
  issuer: string;
  /** Audiences the server issues tokens for; the first is used when a request names none. */
  services: string[];
  keyFile: string;
  certificateFile: string | null;
  /** Access token lifetime in seconds. */
  expirationSeconds: number;
  /** Refresh token lifetime in seconds; 0 when refresh tokens do not expire. */
  refreshExpirationSeconds: number;
  htpasswdFile: string | null;
  aclFile: string;
  log: LogConfig;
}

/** token.md: "a token should never be returned with less than 60 seconds to live". */
const minExpirationSeconds = 60;

function duration(min: number) {
  return z.string().transform((text, ctx) => {
    const ms = parseGoDuration(text);
    if (ms === undefined || ms < min * 1000) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a duration of at least ${min}s, such as 5m or 1h30m`,
      });
      return z.NEVER;
    }
    return Math.floor(ms / 1000);
  });
}

const addr = z.string().transform((text, ctx) => {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(text);
  const port = Number(m?.[2]);
  if (m?.[1] === undefined || port > 65535) {
    ctx.addIssue({ code: 'custom', message: 'expected host:port, such as 127.0.0.1:5001' });
    return z.NEVER;
  }
  return { host: m[1].replace(/^\[(.*)\]$/, '$1'), port };
});

const path = z.string().min(1);

const schema = z
  .object({
    addr,
    issuer: z.string().min(1),
    service: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
      error: (issue) =>
        issue.input === undefined ? 'required' : 'expected a name or a list of names',
    }),
    key: path,
    certificate: path.optional(),
    expiration: duration(minExpirationSeconds).optional(),
    refreshexpiration: z
      .union([z.literal(0), z.literal('0'), duration(1)], {
        error: 'expected 0 or a duration such as 720h',
      })
      .optional(),
    htpasswd: path.optional(),
    acl: path,
    log: z
      .object({
        level: z.enum(['error', 'warn', 'info', 'debug']).optional(),
        formatter: z.enum(['json', 'text']).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/**
 * Reads and validates a token server configuration file.
 *
 * @throws TokenServerConfigError listing every problem with its key.
 */
export async function loadTokenServerConfig(file: string): Promise<TokenServerConfig> {
  const raw = await readYamlWith(file, schema);
  const base = dirname(resolve(file));
  const at = (p: string): string => resolve(base, p);
  const refresh = raw.refreshexpiration;
  return {
    host: raw.addr.host,
    port: raw.addr.port,
    issuer: raw.issuer,
    services: typeof raw.service === 'string' ? [raw.service] : raw.service,
    keyFile: at(raw.key),
    certificateFile: raw.certificate === undefined ? null : at(raw.certificate),
    expirationSeconds: raw.expiration ?? 300,
    refreshExpirationSeconds: typeof refresh === 'number' && refresh > 0 ? refresh : 0,
    htpasswdFile: raw.htpasswd === undefined ? null : at(raw.htpasswd),
    aclFile: at(raw.acl),
    log: {
      level: raw.log?.level ?? 'info',
      formatter: raw.log?.formatter ?? 'json',
      fields: {},
      accesslog: { disabled: false },
    },
  };
}
