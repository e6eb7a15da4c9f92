/**
 * Signing access tokens (jwt.md) and refresh tokens (oauth.md).
 *
 * A refresh token is a JWT too, signed by the same key, so the server keeps no state: it
 * names its subject and the one service it is good for (scope.md, "Refresh Tokens"), and
 * a fingerprint of the subject's htpasswd entry, so that removing the user or changing
 * the password revokes it. Its audience is `refresh-token:<service>` and its `typ`
 * `berth-refresh+jwt`, so that no registry configured for `<service>` mistakes it for
 * an access token.
 */
import { randomBytes } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { SigningKey } from './keys.js';
import type { ResourceScope } from './scope.js';

/** One entry of the `access` claim (jwt.md); `class` only for typed resources. */
export interface AccessEntry {
  type: string;
  class?: string;
  name: string;
  actions: string[];
}

/** An access token and when it was issued. */
export interface IssuedToken {
  token: string;
  /** Seconds the token is valid from `issuedAt`. */
  expiresIn: number;
  issuedAt: Date;
}

/** What a valid refresh token says. */
export interface RefreshClaims {
  subject: string;
  /** Fingerprint of the subject's htpasswd entry when the token was issued. */
  fingerprint: string;
}

const refreshType = 'berth-refresh+jwt';

/** Options of {@link TokenIssuer}. */
export interface IssuerOptions {
  issuer: string;
  expirationSeconds: number;
  /** 0: refresh tokens do not expire (token.md: they have no expiration). */
  refreshExpirationSeconds: number;
}

function jti(): string {
  return randomBytes(18).toString('base64url');
}

/** Signs and checks the server's tokens with one key. */
export class TokenIssuer {
  readonly #key: SigningKey;
  readonly #options: IssuerOptions;

  constructor(key: SigningKey, options: IssuerOptions) {
    this.#key = key;
    this.#options = options;
  }

  /**
   * Signs an access token for `subject` ('' when anonymous, as jwt.md asks) and
   * `audience`, granting exactly `access` (already intersected with the ACL).
   */
  async accessToken(
    subject: string,
    audience: string,
    access: readonly ResourceScope[],
  ): Promise<IssuedToken> {
    const issuedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
    const iat = issuedAt.getTime() / 1000;
    const expiresIn = this.#options.expirationSeconds;
    const entries = access.map((s): AccessEntry => {
      const entry: AccessEntry = { type: s.type, name: s.name, actions: [...s.actions] };
      if (s.class !== undefined) entry.class = s.class;
      return entry;
    });
    const header = { alg: this.#key.alg, typ: 'JWT', kid: this.#key.kid };
    const token = await new SignJWT({ access: entries })
      .setProtectedHeader(this.#key.x5c.length > 0 ? { ...header, x5c: this.#key.x5c } : header)
      .setIssuer(this.#options.issuer)
      .setSubject(subject)
      .setAudience(audience)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + expiresIn)
      .setJti(jti())
      .sign(this.#key.privateKey);
    return { token, expiresIn, issuedAt };
  }

  /** Signs a refresh token for `subject` on `service`. */
  async refreshToken(subject: string, service: string, fingerprint: string): Promise<string> {
    const iat = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({ fpr: fingerprint })
      .setProtectedHeader({ alg: this.#key.alg, typ: refreshType, kid: this.#key.kid })
      .setIssuer(this.#options.issuer)
      .setSubject(subject)
      .setAudience(`refresh-token:${service}`)
      .setIssuedAt(iat)
      .setJti(jti());
    const lifetime = this.#options.refreshExpirationSeconds;
    if (lifetime > 0) jwt.setExpirationTime(iat + lifetime);
    return jwt.sign(this.#key.privateKey);
  }

  /**
   * Checks a refresh token: signature, issuer, type, expiry, and that it was issued for
   * `service`.
   *
   * @returns Its claims, or null when it is not a valid refresh token for `service`.
   */
  async verifyRefreshToken(token: string, service: string): Promise<RefreshClaims | null> {
    try {
      const { payload } = await jwtVerify(token, this.#key.publicKey, {
        issuer: this.#options.issuer,
        audience: `refresh-token:${service}`,
        typ: refreshType,
        algorithms: [this.#key.alg],
      });
      const fingerprint = payload['fpr'];
      if (typeof payload.sub !== 'string' || payload.sub === '') return null;
      if (typeof fingerprint !== 'string') return null;
      return { subject: payload.sub, fingerprint };
    } catch {
      return null;
    }
  }
}
