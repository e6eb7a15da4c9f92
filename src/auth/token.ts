/**
 * The `token` access controller (configuration.md, "token"; spec/auth/token.md, jwt.md,
 * scope.md): Bearer JWTs issued by a separate token server, verified with configured keys
 * only, never by calling that server. The token's `access` claim lists what it grants.
 */
import { createHash } from 'node:crypto';
import { errors as joseErrors, jwtVerify } from 'jose';
import type { Logger } from 'pino';
import { TOKEN_SIGNING_ALGORITHMS } from '../config/schema.js';
import type { TokenAuthConfig } from '../config/types.js';
import {
  bearerChallenge,
  denied,
  MAX_AUTHORIZATION_BYTES,
  unauthorized,
  type BearerError,
} from './challenge.js';
import { TrustedKeys, UntrustedKeyError } from './token-keys.js';
import type { Access, AccessController, AuthRequest, Grant } from './types.js';

/** Clock skew allowed on `exp` and `nbf`, as the reference's leeway (RFC 7519 4.1.4). */
const CLOCK_TOLERANCE_S = 60;

/** type+name → the actions granted on it, merged over the claim's entries. */
type Grants = Map<string, Set<string>>;

interface VerifiedToken {
  subject: string;
  grants: Grants;
  /** Epoch ms after which the token is no longer accepted (exp plus the tolerance). */
  expiresAt: number;
}

/** The `access` claim is not the array of `{type, name, actions}` jwt.md describes. */
class AccessClaimError extends Error {
  readonly code = 'ERR_BERTH_ACCESS_CLAIM';
}

function resourceKey(type: string, name: string): string {
  return JSON.stringify([type, name]);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads the `access` claim (spec/auth/jwt.md). Absent or null grants nothing; entries for
 * the same type and name add up; missing or null `actions` grant nothing. Anything else
 * that is not the documented shape makes the whole token invalid.
 */
function parseAccessClaim(claim: unknown): Grants {
  const grants: Grants = new Map();
  if (claim === undefined || claim === null) return grants;
  if (!Array.isArray(claim)) throw new AccessClaimError('access claim is not an array');
  for (const entry of claim as unknown[]) {
    if (!isRecord(entry)) throw new AccessClaimError('access entry is not an object');
    const { type, name } = entry;
    if (typeof type !== 'string' || typeof name !== 'string') {
      throw new AccessClaimError('access entry lacks type or name');
    }
    const list: unknown = entry['actions'] ?? [];
    if (!Array.isArray(list) || !list.every((a): a is string => typeof a === 'string')) {
      throw new AccessClaimError('access entry actions are not strings');
    }
    const key = resourceKey(type, name);
    const set = grants.get(key) ?? new Set<string>();
    for (const action of list) set.add(action);
    grants.set(key, set);
  }
  return grants;
}

/**
 * Whether `grants` cover every action of every access: an action is covered when the token
 * grants it, or `*`, on the same type and name (the reference's actionSet.contains).
 */
function allows(grants: Grants, access: readonly Access[]): boolean {
  return access.every(({ type, name, actions }) => {
    const granted = grants.get(resourceKey(type, name));
    if (granted === undefined) return actions.length === 0;
    return granted.has('*') || actions.every((action) => granted.has(action));
  });
}

const bearerHeader = /^bearer[ \t]+([^\s]+)[ \t]*$/i;

/** Tuning, for tests; the defaults are what the registry uses. */
export interface TokenOptions {
  /** Most verified tokens remembered at once. Default 10 000. */
  cacheSize?: number;
}

/**
 * The token controller.
 *
 * A token is accepted when jose's `jwtVerify` passes with: the configured algorithms only
 * (never `none`, never HMAC: the schema refuses them, so a public key can never serve as an
 * HMAC secret); a key from {@link TrustedKeys.resolve}; `iss` equal to `issuer`; `aud` equal
 * to (or, as a list, containing) `service`; `exp` present; `exp` and `nbf` within 60 s of
 * the clock. Then its `access` claim must grant every requested action.
 *
 * Failures carry a Bearer challenge naming the scope the request needs: 401 without an
 * `error` when no Bearer token was sent; 401 `error="invalid_token"` when one was and failed
 * (or the header exceeds 8 KiB, which is refused unread). A valid token that lacks access
 * gets `error="insufficient_scope"` and:
 * - 401 when the token does not name a resource the request needs at all (a token for repo
 *   `a` used on `b`, the source of a cross-repository mount, the catalog): clients
 *   (containerd, the docker CLI) fetch a wider token after a 401, which may succeed;
 * - 403 `DENIED` when the token names every resource but lacks an action (a pull token used
 *   to push): the token server already judged that resource, so asking again cannot help,
 *   and the client is told plainly (token.md, RFC 6750 section 3.1).
 *
 * Verified tokens are remembered, under the SHA-256 of the token, until they expire, so a
 * client reusing its token (one per image pull or push) costs one signature check; at most
 * `cacheSize` are kept, expired ones dropped first, then the oldest. The keys are read once,
 * at start, like the reference; failed tokens are not remembered.
 */
export class TokenAccessController implements AccessController {
  readonly name = 'token';
  readonly #config: TokenAuthConfig;
  readonly #keys: TrustedKeys;
  readonly #log: Logger;
  readonly #cacheSize: number;
  readonly #cache = new Map<string, VerifiedToken>();
  readonly #inflight = new Map<string, Promise<VerifiedToken | undefined>>();

  private constructor(
    config: TokenAuthConfig,
    keys: TrustedKeys,
    log: Logger,
    options: TokenOptions,
  ) {
    this.#config = config;
    this.#keys = keys;
    this.#log = log;
    this.#cacheSize = Math.max(1, options.cacheSize ?? 10_000);
  }

  /**
   * Loads the configured keys; rejects when a file cannot be read or holds no key, or when
   * no algorithm of `signingalgorithms` is one of {@link TOKEN_SIGNING_ALGORITHMS}.
   */
  static async open(
    config: TokenAuthConfig,
    log: Logger,
    options: TokenOptions = {},
  ): Promise<TokenAccessController> {
    // The loader refuses `none` and HMAC already; a config built elsewhere gets the same rule.
    const algorithms = config.signingalgorithms.filter((a) => TOKEN_SIGNING_ALGORITHMS.includes(a));
    if (algorithms.length === 0) throw new Error('token auth has no usable signing algorithm');
    const keys = await TrustedKeys.load(config.rootcertbundle, config.jwks, log);
    return new TokenAccessController(
      { ...config, signingalgorithms: algorithms },
      keys,
      log,
      options,
    );
  }

  /**
   * Resolves with the token's `sub` ('' when absent) when a valid Bearer token grants every
   * action of `access`; throws UNAUTHORIZED with the Bearer challenge otherwise. With
   * `autoredirect`, the challenge's realm is the request's origin plus `autoredirectpath`.
   */
  async authorize(req: AuthRequest, access: Access[]): Promise<Grant> {
    const header = req.header('authorization');
    const challenge = (error?: BearerError): string => {
      const realm = this.#config.autoredirect
        ? `${req.origin}${this.#config.autoredirectpath}`
        : this.#config.realm;
      return bearerChallenge({ realm, service: this.#config.service, access, error });
    };
    const refuse = (error?: BearerError) => {
      return unauthorized(challenge(error), access);
    };
    if (header === undefined) throw refuse();
    if (header.length > MAX_AUTHORIZATION_BYTES) throw refuse('invalid_token');
    const token = bearerHeader.exec(header)?.[1];
    if (token === undefined) throw refuse();

    const verified = await this.#verified(token);
    if (verified === undefined) throw refuse('invalid_token');
    if (!allows(verified.grants, access)) {
      this.#log.debug({ subject: verified.subject }, 'token lacks the requested scope');
      const named = access.every(({ type, name }) => verified.grants.has(resourceKey(type, name)));
      if (!named) throw refuse('insufficient_scope');
      throw denied(access).withHeader('WWW-Authenticate', challenge('insufficient_scope'));
    }
    return { subject: verified.subject };
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.#inflight.values());
    this.#cache.clear();
  }

  async #verified(token: string): Promise<VerifiedToken | undefined> {
    const key = createHash('sha256').update(token).digest('base64');
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      if (cached.expiresAt > Date.now()) return cached;
      this.#cache.delete(key);
    }

    let pending = this.#inflight.get(key);
    if (pending === undefined) {
      pending = this.#verify(token, key).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    return pending;
  }

  async #verify(token: string, key: string): Promise<VerifiedToken | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.#keys.resolve, {
        algorithms: this.#config.signingalgorithms,
        issuer: this.#config.issuer,
        audience: this.#config.service,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['exp'],
      });
      const verified: VerifiedToken = {
        subject: typeof payload.sub === 'string' ? payload.sub : '',
        grants: parseAccessClaim(payload['access']),
        expiresAt: ((payload.exp ?? 0) + CLOCK_TOLERANCE_S) * 1000,
      };
      this.#remember(key, verified);
      this.#log.debug({ subject: verified.subject }, 'token verified');
      return verified;
    } catch (err) {
      if (
        err instanceof joseErrors.JOSEError ||
        err instanceof UntrustedKeyError ||
        err instanceof AccessClaimError
      ) {
        this.#log.debug({ reason: err.code }, 'token rejected');
      } else if (err instanceof TypeError || err instanceof DOMException) {
        // jose's and WebCrypto's answers to a key that does not suit the token's alg (an RSA
        // key for ES256, a P-256 key for ES384): the token's doing, so a miss like the others.
        this.#log.debug({ reason: 'ERR_KEY_MISMATCH', detail: err.message }, 'token rejected');
      } else {
        this.#log.warn({ err }, 'token verification failed unexpectedly');
      }
      return undefined;
    }
  }

  #remember(key: string, verified: VerifiedToken): void {
    if (this.#cache.size >= this.#cacheSize) {
      const now = Date.now();
      for (const [k, entry] of this.#cache) if (entry.expiresAt <= now) this.#cache.delete(k);
      const oldest = this.#cache.keys().next();
      if (this.#cache.size >= this.#cacheSize && oldest.done !== true) {
        this.#cache.delete(oldest.value);
      }
    }
    this.#cache.set(key, verified);
  }
}
