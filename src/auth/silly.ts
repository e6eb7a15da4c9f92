/**
 * The `silly` access controller (configuration.md, "silly"): for development only. Any
 * request that carries an `Authorization` header passes, whatever the header says; any other
 * gets the Bearer challenge a token-auth registry would send, echoing realm, service and
 * scope, so that clients can be tried against the challenge flow without a token server.
 */
import type { SillyAuthConfig } from '../config/types.js';
import { bearerChallenge, unauthorized } from './challenge.js';
import type { Access, AccessController, AuthRequest, Grant } from './types.js';

/** The silly controller. `authorize` never looks at the header's value. */
export class SillyAccessController implements AccessController {
  readonly name = 'silly';
  readonly #realm: string;
  readonly #service: string;

  constructor(config: Pick<SillyAuthConfig, 'realm' | 'service'>) {
    this.#realm = config.realm;
    this.#service = config.service;
  }

  /**
   * Grants everything, with an empty subject, when a non-empty `Authorization` header is
   * present (an empty one counts as absent, as in the reference); otherwise throws
   * UNAUTHORIZED with `Bearer realm,service,scope`.
   */
  async authorize(req: AuthRequest, access: Access[]): Promise<Grant> {
    const header = req.header('authorization');
    if (header !== undefined && header !== '') return { subject: '' };
    const challenge = bearerChallenge({ realm: this.#realm, service: this.#service, access });
    throw unauthorized(challenge, access);
  }

  async close(): Promise<void> {
    // Nothing to release: the controller holds no timers or files.
  }
}
