/** Starting the Berth server from this checkout (`bin/berth.js serve <config>`). */
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';
import { launchRegistry, type RunningServer } from './registry.js';

/** Root of the repository: this file is compiled to `dist/test/helpers/berth.js`. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Options of {@link startBerth}. */
export interface BerthOptions {
  /**
   * Storage root; a fresh temporary directory (removed by `stop()`) when omitted and no
   * {@link BerthOptions.storage} block is given.
   */
  root?: string;
  /**
   * The driver's YAML lines under `storage:` (indented by two spaces, e.g. an `s3:` block),
   * written instead of the filesystem driver; `root` is then only reported back, not used.
   */
  storage?: string;
  /** `storage.delete.enabled`; default true. */
  deleteEnabled?: boolean;
  /** YAML lines appended verbatim to the generated config file. */
  extraConfig?: string;
  /** Extra environment variables for the server process. */
  env?: Record<string, string>;
  /** The `GET /v2/` status that means ready; default 200, 401 when `auth` is configured. */
  readyStatus?: number;
}

/**
 * Starts Berth with `node bin/berth.js serve <config>` on 127.0.0.1 with a filesystem
 * storage root (or the given storage block) and waits until `GET /v2/` answers 200.
 *
 * @returns The running server; call `stop()` when done. `logs()` gives its recent output.
 * @throws Error with the server's output if it exits or does not come up within 30 s.
 */
export async function startBerth(opts: BerthOptions = {}): Promise<RunningServer> {
  const entry = join(repoRoot, 'bin', 'berth.js');
  const compiledCli = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
  if (!existsSync(entry) || !existsSync(compiledCli)) {
    throw new Error(
      `Berth is not built: ${entry} and ${compiledCli} must exist (run \`npm run build\`)`,
    );
  }
  const configDir = await mkdtemp(join(tmpdir(), 'berth-cfg-'));
  const cleanup = [configDir];
  let root = opts.root;
  if (opts.storage !== undefined) {
    root ??= '';
  } else if (root === undefined) {
    root = await mkdtemp(join(tmpdir(), 'berth-root-'));
    cleanup.push(root);
  }
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  formatter: json',
    'storage:',
    ...(opts.storage === undefined
      ? ['  filesystem:', `    rootdirectory: ${JSON.stringify(root)}`]
      : [opts.storage]),
    '  delete:',
    `    enabled: ${opts.deleteEnabled ?? true}`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  secret: berth-e2e-fixed-test-secret',
  ];
  if (opts.extraConfig !== undefined) lines.push(opts.extraConfig);
  const configFile = join(configDir, 'config.yml');
  await writeFile(configFile, `${lines.join('\n')}\n`);
  return launchRegistry({
    name: 'Berth',
    command: process.execPath,
    args: [entry, 'serve', configFile],
    ...(opts.env === undefined ? {} : { env: opts.env }),
    ...(opts.readyStatus === undefined ? {} : { readyStatus: opts.readyStatus }),
    port,
    root,
    cleanup,
  });
}
