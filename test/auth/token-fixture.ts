/**
 * The token tests' shared setup: fresh keys and certificates (pki.ts), a controller trusting
 * them, and helpers to sign tokens and spell the challenges expected back.
 */
import { after, before } from 'node:test';
import type { KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { TokenAccessController, type TokenOptions } from '../../src/auth/token.js';
import type { Access } from '../../src/auth/types.js';
import { TOKEN_SIGNING_ALGORITHMS } from '../../src/config/schema.js';
import type { TokenAuthConfig } from '../../src/config/types.js';
import { captureLog, request } from './helpers.js';
import { makePki, type Pki } from './pki.js';

export const ISSUER = 'auth.test';
export const SERVICE = 'berth.test';
export const REALM = 'https://auth.test/token';

/** Filled in by {@link useTokenFixture}'s before hook. */
export const fx = {} as {
  pki: Pki;
  controller: TokenAccessController;
  lines: () => Record<string, unknown>[];
};

/** A configuration trusting the fixture's bundle and JWKS, with `overrides` applied. */
export function config(overrides: Partial<TokenAuthConfig> = {}): TokenAuthConfig {
  return {
    kind: 'token',
    realm: REALM,
    service: SERVICE,
    issuer: ISSUER,
    rootcertbundle: fx.pki.bundle,
    jwks: fx.pki.jwks,
    autoredirect: false,
    autoredirectpath: '/auth/token',
    signingalgorithms: [...TOKEN_SIGNING_ALGORITHMS],
    ...overrides,
  };
}

/** A controller of its own, with a log the test can read. */
export async function openWith(
  overrides: Partial<TokenAuthConfig> = {},
  options: TokenOptions = {},
) {
  const capture = captureLog();
  const opened = await TokenAccessController.open(config(overrides), capture.log, options);
  return { controller: opened, ...capture };
}

/** Registers the hooks that make the keys and the shared controller, then remove them. */
export function useTokenFixture(): void {
  before(async () => {
    fx.pki = await makePki(await mkdtemp(join(tmpdir(), 'berth-token-')));
    const opened = await openWith();
    fx.controller = opened.controller;
    fx.lines = opened.lines;
  });
  after(async () => {
    await fx.controller.close();
    await rm(fx.pki.dir, { recursive: true, force: true });
  });
}

export const repo = (name: string, ...actions: string[]): Access => ({
  type: 'repository',
  name,
  actions,
});
export const pullA = [repo('team/a', 'pull')];
export const pushA = [repo('team/a', 'pull', 'push')];
export const catalog: Access[] = [{ type: 'registry', name: 'catalog', actions: ['*'] }];

export interface Signing {
  key?: KeyObject;
  alg?: string;
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  /** Claims to leave out of the default set. */
  without?: string[];
}

/** A token signed by the JWKS EC key (kid set) unless told otherwise, valid for 5 minutes. */
export async function sign(signing: Signing = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    iss: ISSUER,
    sub: 'alice',
    aud: SERVICE,
    iat: now,
    nbf: now,
    exp: now + 300,
    access: [{ type: 'repository', name: 'team/a', actions: ['pull'] }],
    ...signing.claims,
  };
  for (const name of signing.without ?? []) Reflect.deleteProperty(claims, name);
  const header = signing.header ?? { kid: fx.pki.jwksEc.kid };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: signing.alg ?? 'ES384', typ: 'JWT', ...header })
    .sign(signing.key ?? fx.pki.jwksEc.key);
}

export const bearer = (token: string) => `Bearer ${token}`;

/** The challenge the fixture's controller answers with, written out independently. */
export function challenge(access: Access[], error?: string): string {
  const scope = access.length === 0 ? '' : `,scope="${scopeOf(access)}"`;
  return `Bearer realm="${REALM}",service="${SERVICE}"${scope}${error ? `,error="${error}"` : ''}`;
}

function scopeOf(access: Access[]): string {
  return access.map((a) => `${a.type}:${a.name}:${a.actions.join(',')}`).join(' ');
}

/** The subject `on` (the shared controller by default) grants for `header` and `access`. */
export async function granted(
  header: string,
  access: Access[],
  on: TokenAccessController = fx.controller,
): Promise<string> {
  return (await on.authorize(request(header), access)).subject;
}
