/**
 * Builds the access controller the `auth` section names. The API asks it about every
 * request (src/api/routes.ts); null means an open registry.
 */
import type { Logger } from 'pino';
import type { AuthConfig } from '../config/types.js';
import { HtpasswdAccessController } from './htpasswd.js';
import { SillyAccessController } from './silly.js';
import { TokenAccessController } from './token.js';
import type { AccessController } from './types.js';

/**
 * The controller for `config`, or null when the configuration has no `auth` section.
 * Rejects when the controller cannot start: an htpasswd file that cannot be created, read or
 * parsed, or token keys that cannot be loaded. `log` gets a child per controller
 * (`auth: <kind>`); silly is announced with a warning, since it lets anyone in.
 */
export async function createAccessController(
  config: AuthConfig | null,
  log: Logger,
): Promise<AccessController | null> {
  if (config === null) return null;
  const child = log.child({ auth: config.kind });
  switch (config.kind) {
    case 'silly':
      child.warn('silly access control lets any request with an authorization header in');
      return new SillyAccessController(config);
    case 'htpasswd':
      return HtpasswdAccessController.open(config, child);
    case 'token':
      return TokenAccessController.open(config, child);
  }
}
