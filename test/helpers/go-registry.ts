/** Starting the Go reference registry (CNCF distribution 2.8, Debian `docker-registry`). */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { launchRegistry, type RunningServer } from './registry.js';
import { requireTool } from './tools.js';

/** Options of {@link startGoRegistry}. */
export interface GoRegistryOptions {
  /** Storage root; a fresh temporary directory (removed by `stop()`) when omitted. */
  root?: string;
  /** `storage.delete.enabled`; default true. */
  deleteEnabled?: boolean;
  /** YAML lines appended verbatim to the generated config file (e.g. an `auth` section). */
  extraConfig?: string;
  /** The `GET /v2/` status that means ready; default 200, 401 when `auth` is configured. */
  readyStatus?: number;
  /** YAML lines of the `storage` section instead of the filesystem driver at `root`. */
  storage?: string[];
  /** Extra environment variables for the server process. */
  env?: Record<string, string>;
}

/**
 * Starts `/usr/bin/docker-registry serve` on 127.0.0.1 with a filesystem storage root and
 * waits until `GET /v2/` answers 200.
 *
 * @returns The running registry; call `stop()` when done.
 * @throws Error if the binary is missing or the server does not come up within 10 s.
 */
export async function startGoRegistry(opts: GoRegistryOptions = {}): Promise<RunningServer> {
  const binary = requireTool('docker-registry', 'docker-registry');
  const configDir = await mkdtemp(join(tmpdir(), 'berth-go-registry-cfg-'));
  const cleanup = [configDir];
  let root = opts.root;
  if (root === undefined) {
    root = await mkdtemp(join(tmpdir(), 'berth-go-registry-root-'));
    cleanup.push(root);
  }
  const port = await freePort();
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    ...(opts.storage ?? ['  filesystem:', `    rootdirectory: ${JSON.stringify(root)}`]),
    '  delete:',
    `    enabled: ${opts.deleteEnabled ?? true}`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  secret: berth-e2e-fixed-test-secret',
    ...(opts.extraConfig === undefined ? [] : [opts.extraConfig]),
    '',
  ].join('\n');
  const configFile = join(configDir, 'config.yml');
  await writeFile(configFile, config);
  return launchRegistry({
    name: 'Go registry',
    command: binary,
    args: ['serve', configFile],
    ...(opts.readyStatus === undefined ? {} : { readyStatus: opts.readyStatus }),
    ...(opts.env === undefined ? {} : { env: opts.env }),
    port,
    root,
    cleanup,
  });
}
