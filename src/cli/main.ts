/**
 * The `berth` command: `serve [config.yml]`, `token-server <config.yml>`, `version`,
 * `--help`. Argument parsing only; everything else lives in main.ts and tokenserver/.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { ConfigError, loadConfig } from '../config/load.js';
import { startRegistry } from '../main.js';
import { loadTokenServerConfig } from '../tokenserver/config.js';
import { KeyError } from '../tokenserver/keys.js';
import { startTokenServer, type RunningTokenServer } from '../tokenserver/server.js';
import { TokenServerConfigError } from '../tokenserver/yaml-file.js';

const usage = `Usage: berth <command> [options]

Commands:
  serve [config.yml]   run the registry (no file: 127.0.0.1:5000, storage under ./data)
  token-server <config.yml>
                       run the token server that issues Bearer tokens for auth.token
                       (spec/auth/token.md): users from htpasswd, access from an ACL file
  version              print the version
  help                 print this help

Options:
  -h, --help           print this help
  -v, --version        print the version

Environment variables REGISTRY_<SECTION>_<KEY> override configuration keys, as in the
reference registry (REGISTRY_HTTP_ADDR=127.0.0.1:5001).
`;

function version(): string {
  const pkg = JSON.parse(
    readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
  ) as { version: string };
  return pkg.version;
}

/** Runs the command line; resolves with the exit code (serve resolves when stopped). */
export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } },
    });
  } catch (err) {
    process.stderr.write(`berth: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  const [command, ...rest] = parsed.positionals;
  if (parsed.values.help === true || command === 'help') {
    process.stdout.write(usage);
    return 0;
  }
  if (parsed.values.version === true || command === 'version') {
    process.stdout.write(`berth ${version()}\n`);
    return 0;
  }
  if (command === 'token-server') {
    if (rest.length === 1 && rest[0] !== undefined) return tokenServer(rest[0]);
    process.stderr.write(`berth: token-server takes one configuration file\n\n${usage}`);
    return 2;
  }
  if (command !== 'serve' || rest.length > 1) {
    process.stderr.write(
      command === undefined ? usage : `berth: unknown command ${command}\n\n${usage}`,
    );
    return 2;
  }
  return serve(rest[0]);
}

async function serve(configPath: string | undefined): Promise<number> {
  let loaded;
  try {
    loaded = await loadConfig(configPath);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`berth: ${err.message}\n`);
    return 2;
  }
  let registry;
  try {
    registry = await startRegistry(loaded.config, { warnings: loaded.warnings });
  } catch (err) {
    // A port in use, an unreadable htpasswd or key file, a driver refusing its parameters.
    process.stderr.write(
      `berth: cannot start: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    return 1;
  }
  return untilSignalled(registry);
}

async function tokenServer(configPath: string): Promise<number> {
  let server: RunningTokenServer;
  try {
    server = await startTokenServer(await loadTokenServerConfig(configPath));
  } catch (err) {
    // Bad files are usage errors (2); anything else, such as an address in use, is 1.
    const usageError = err instanceof TokenServerConfigError || err instanceof KeyError;
    process.stderr.write(`berth: token server: ${(err as Error).message}\n`);
    return usageError ? 2 : 1;
  }
  return untilSignalled(server);
}

/**
 * Resolves with the exit code once SIGTERM or SIGINT has stopped `service`: 0 after a clean
 * stop (requests drained), 1 when stopping failed.
 */
function untilSignalled(service: { log: Logger; stop(): Promise<void> }): Promise<number> {
  return new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      service.log.info({ signal }, 'shutting down');
      service.stop().then(
        () => resolve(0),
        (err: unknown) => {
          service.log.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
}
