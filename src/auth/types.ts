/**
 * Access control as the API sees it (docs: spec/auth/scope.md, token.md). Every request is
 * mapped to the resources and actions it needs; an access controller decides, from the
 * request's credentials, whether they are granted.
 */

/** One resource and the actions a request needs on it (`repository:team/app:pull,push`). */
export interface Access {
  /** `repository` or `registry`. */
  type: string;
  /** The repository name, or `catalog`. */
  name: string;
  /** `pull`, `push`, `delete`, or `*`. */
  actions: string[];
}

/** What a controller sees of a request. */
export interface AuthRequest {
  /** The first value of a header (lowercase name). */
  header(name: string): string | undefined;
  /** Scheme and host the client used, for `autoredirect` realms (`https://host`). */
  readonly origin: string;
}

/** Who made an authorised request, for the log. */
export interface Grant {
  /** The user or token subject; '' when the controller knows none (silly). */
  subject: string;
}

/**
 * An access controller. `authorize` resolves with the grant when the request's credentials
 * allow every `access` (an empty list asks only that the client be authenticated, as for
 * `GET /v2/`). Otherwise it throws a RegistryError: `UNAUTHORIZED` (401, with the
 * `WWW-Authenticate` challenge in its headers) when credentials are missing or invalid, or
 * do not cover a resource at all (so the client may fetch wider ones), `DENIED` (403) when
 * they cover the resource but not the action. Verification work that
 * costs CPU (bcrypt, signatures) must not block the main thread.
 */
export interface AccessController {
  readonly name: string;
  authorize(req: AuthRequest, access: Access[]): Promise<Grant>;
  /** Stops timers and file watchers. */
  close(): Promise<void>;
}
