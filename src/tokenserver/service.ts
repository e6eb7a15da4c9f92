/**
 * The token endpoint's protocol, without HTTP: authenticate the client, intersect the
 * requested scopes with the ACL, sign. `GET /token` follows token.md, `POST /token`
 * oauth.md; both answer with the same fields so that either kind of client is served.
 */
import type { Acl } from './acl.js';
import type { ReloadingFile } from './reloading-file.js';
import { formatScopes, parseScopes, ScopeError, type ResourceScope } from './scope.js';
import type { TokenIssuer } from './tokens.js';
import type { UserStore } from './users.js';

/** A refused token request: HTTP status and an RFC 6749 section 5.2 error code. */
export class TokenRequestError extends Error {
  constructor(
    readonly status: 400 | 401,
    readonly code: string,
    readonly description: string,
  ) {
    super(description);
    this.name = 'TokenRequestError';
  }
}

/** The JSON answer of a token request. */
export interface TokenAnswer {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
  /** Granted scopes, space-separated; oauth.md requires it, token.md clients ignore it. */
  scope: string;
  refresh_token?: string;
}

/** What the server logs about an answered request (never a credential). */
export interface Issued {
  answer: TokenAnswer;
  subject: string;
  service: string;
  granted: ResourceScope[];
}

/** Credentials from a `Basic` Authorization header; null when the header is absent. */
export type BasicCredentials = { user: string; password: string } | null;

/** The parameters of a token request, from the query (GET) or the form (POST). */
export interface Params {
  get(name: string): string | null;
  getAll(name: string): string[];
}

/** Everything the endpoint needs. */
export interface TokenServiceDeps {
  services: readonly string[];
  users: UserStore | null;
  acl: ReloadingFile<Acl>;
  issuer: TokenIssuer;
}

const invalidCredentials = (): TokenRequestError =>
  new TokenRequestError(401, 'invalid_grant', 'invalid username or password');

/** The token endpoint. */
export class TokenService {
  readonly #deps: TokenServiceDeps;

  constructor(deps: TokenServiceDeps) {
    this.#deps = deps;
  }

  /**
   * `GET /token` (token.md): Basic credentials or none (anonymous), `service`, any number
   * of `scope`, and `offline_token=true` for a refresh token. `account` and `client_id`
   * are informational: the subject always comes from the credentials.
   */
  async get(params: Params, credentials: BasicCredentials): Promise<Issued> {
    const service = this.#service(params.get('service'));
    const scopes = this.#scopes(params.getAll('scope'));
    let subject = '';
    if (credentials !== null) {
      if (!(await this.#authenticate(credentials))) throw invalidCredentials();
      subject = credentials.user;
    }
    // Anonymous clients get no refresh token: it would have no subject to stand for.
    const offline = params.get('offline_token') === 'true' && subject !== '';
    return this.#issue(subject, service, scopes, offline ? 'new' : null);
  }

  /**
   * `POST /token` (oauth.md), form-encoded: `grant_type=password` with `username` and
   * `password` (`access_type=offline` adds a refresh token), or
   * `grant_type=refresh_token` with `refresh_token`, which is answered with the same
   * refresh token back.
   */
  async post(params: Params): Promise<Issued> {
    const service = this.#service(params.get('service'));
    const scopes = this.#scopes(params.getAll('scope'));
    const grantType = params.get('grant_type');

    if (grantType === 'password') {
      const user = params.get('username') ?? '';
      const password = params.get('password') ?? '';
      if (user === '' || !(await this.#authenticate({ user, password }))) {
        throw invalidCredentials();
      }
      const offline = params.get('access_type') === 'offline';
      return this.#issue(user, service, scopes, offline ? 'new' : null);
    }

    if (grantType === 'refresh_token') {
      const refresh = params.get('refresh_token') ?? '';
      const claims = await this.#deps.issuer.verifyRefreshToken(refresh, service);
      const current = claims && (await this.#deps.users?.fingerprint(claims.subject));
      if (claims === null || current !== claims.fingerprint) {
        throw new TokenRequestError(401, 'invalid_grant', 'invalid or revoked refresh token');
      }
      return this.#issue(claims.subject, service, scopes, refresh);
    }

    throw new TokenRequestError(
      400,
      grantType === null ? 'invalid_request' : 'unsupported_grant_type',
      'grant_type must be password or refresh_token',
    );
  }

  /** The requested audience; the first configured service when the request names none. */
  #service(requested: string | null): string {
    if (requested === null || requested === '') {
      const first = this.#deps.services[0];
      if (first !== undefined) return first;
    }
    if (requested !== null && this.#deps.services.includes(requested)) return requested;
    throw new TokenRequestError(
      400,
      'invalid_request',
      `this server issues no tokens for service ${JSON.stringify(requested)}`,
    );
  }

  #scopes(values: string[]): ResourceScope[] {
    try {
      return parseScopes(values);
    } catch (err) {
      if (err instanceof ScopeError) throw new TokenRequestError(400, 'invalid_scope', err.message);
      throw err;
    }
  }

  async #authenticate(credentials: { user: string; password: string }): Promise<boolean> {
    return (await this.#deps.users?.verify(credentials.user, credentials.password)) ?? false;
  }

  /**
   * Intersects, signs and builds the answer. `refresh` is 'new' to sign a refresh token,
   * an existing one to hand back, or null for none.
   */
  async #issue(
    subject: string,
    service: string,
    requested: ResourceScope[],
    refresh: string | null,
  ): Promise<Issued> {
    const acl = await this.#deps.acl.current();
    const user = subject === '' ? null : subject;
    // token.md: a resource granted nothing stays in the token with an empty action list.
    const granted = requested.map((s) => ({ ...s, actions: acl.grantedActions(user, s) }));
    const issued = await this.#deps.issuer.accessToken(subject, service, granted);
    const answer: TokenAnswer = {
      token: issued.token,
      access_token: issued.token,
      expires_in: issued.expiresIn,
      issued_at: issued.issuedAt.toISOString(),
      scope: formatScopes(granted),
    };
    if (refresh === 'new') {
      const fingerprint = await this.#deps.users?.fingerprint(subject);
      if (fingerprint != null) {
        answer.refresh_token = await this.#deps.issuer.refreshToken(subject, service, fingerprint);
      }
    } else if (refresh !== null) {
      answer.refresh_token = refresh;
    }
    return { answer, subject, service, granted };
  }
}
