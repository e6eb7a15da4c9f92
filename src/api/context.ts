/** What every handler needs besides the request: the registry core and its policies. */
import type { AccessController } from '../auth/types.js';
import type { Registry } from '../core/registry.js';

export interface ApiContext {
  registry: Registry;
  /** `storage.delete.enabled`: DELETE of blobs and manifests is allowed. */
  deleteEnabled: boolean;
  /** `storage.maintenance.readonly.enabled`: every write is refused. */
  readOnly: boolean;
  /** `storage.redirect.disable`: never redirect blob reads to the driver's URLs. */
  redirectDisabled: boolean;
  /** The `auth` section's controller; null when the registry is open. */
  auth: AccessController | null;
}
