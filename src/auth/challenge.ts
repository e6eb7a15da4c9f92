/**
 * `WWW-Authenticate` challenges and the errors that carry them. A 401 tells the client how
 * to authenticate: `Basic realm="..."` for htpasswd, or the token server and the scope to
 * ask it for (spec/auth/token.md, "How to authenticate"; RFC 6750 section 3).
 */
import { RegistryError } from '../errors/registry-error.js';
import type { Access } from './types.js';

/**
 * An `Authorization` header longer than this (in UTF-16 units, which bounds the bytes from
 * below) is refused with a 401 before any parsing: real credentials are far shorter.
 */
export const MAX_AUTHORIZATION_BYTES = 8 * 1024;

/** The `error` parameter of a Bearer challenge (RFC 6750 section 3.1). */
export type BearerError = 'invalid_token' | 'insufficient_scope';

/** What a Bearer challenge names: where to get a token, for which service and scope. */
export interface BearerChallenge {
  realm: string;
  service: string;
  /** What the request needs; becomes the `scope` parameter, left out when empty. */
  access: readonly Access[];
  /** Set when a token was sent: `invalid_token` when it failed verification. */
  error?: BearerError;
}

/**
 * A header value as an RFC 7230 quoted-string: `"` and `\` are escaped; control characters,
 * which a quoted-string cannot hold and which could split the header, are dropped.
 */
export function quote(value: string): string {
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  const printable = value.replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, '');
  return `"${printable.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/**
 * The scope parameter for an access list: one `type:name:actions` entry per resource,
 * actions merged when a resource appears twice and comma-separated, entries
 * space-separated (`repository:a:pull,push repository:b:pull`). Resources without actions
 * are left out; an empty list gives ''.
 */
export function scopeParam(access: readonly Access[]): string {
  const byResource = new Map<string, Set<string>>();
  for (const { type, name, actions } of access) {
    if (actions.length === 0) continue;
    const key = `${type}:${name}`;
    const set = byResource.get(key) ?? new Set<string>();
    for (const action of actions) set.add(action);
    byResource.set(key, set);
  }
  return [...byResource].map(([key, actions]) => `${key}:${[...actions].join(',')}`).join(' ');
}

/** `Basic realm="..."` (RFC 7617 section 2). */
export function basicChallenge(realm: string): string {
  return `Basic realm=${quote(realm)}`;
}

/**
 * `Bearer realm="...",service="...",scope="..."[,error="..."]`, the parameters in the order
 * the reference writes them, since some clients match the header textually.
 */
export function bearerChallenge(challenge: BearerChallenge): string {
  let value = `Bearer realm=${quote(challenge.realm)},service=${quote(challenge.service)}`;
  const scope = scopeParam(challenge.access);
  if (scope !== '') value += `,scope=${quote(scope)}`;
  if (challenge.error !== undefined) value += `,error=${quote(challenge.error)}`;
  return value;
}

/** One entry of an error's detail, spelled as the reference serialises its access records. */
export interface AccessDetail {
  Type: string;
  Name: string;
  Action: string;
}

/**
 * The detail of an UNAUTHORIZED or DENIED error: one entry per requested action, as in
 * spec/auth/token.md's example; null for an empty list, as the reference sends for `/v2/`.
 */
export function accessDetail(access: readonly Access[]): AccessDetail[] | null {
  if (access.length === 0) return null;
  return access.flatMap(({ type, name, actions }) =>
    actions.map((action) => ({ Type: type, Name: name, Action: action })),
  );
}

/**
 * The 401 for missing, invalid or insufficient credentials: `UNAUTHORIZED` with the access
 * list as detail and `challenge` (a value from {@link basicChallenge} or
 * {@link bearerChallenge}) as its `WWW-Authenticate` header.
 */
export function unauthorized(challenge: string, access: readonly Access[]): RegistryError {
  return new RegistryError('UNAUTHORIZED', accessDetail(access)).withHeader(
    'WWW-Authenticate',
    challenge,
  );
}

/** The 403 for valid credentials that do not allow `access`: `DENIED`, no challenge. */
export function denied(access: readonly Access[]): RegistryError {
  return new RegistryError('DENIED', accessDetail(access));
}
