/**
 * Running `skopeo` isolated from the host's container configuration: every call gets a
 * harness-written `insecureAcceptAnything` policy (`--policy`), an empty `registries.d`
 * and an empty `registries.conf`, so nothing in /etc/containers is needed or used.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool, run, type RunResult } from './tools.js';

interface SkopeoSetup {
  binary: string;
  globalArgs: string[];
  env: Record<string, string>;
}

let setup: SkopeoSetup | undefined;

function skopeoSetup(): SkopeoSetup {
  if (setup !== undefined) return setup;
  const binary = requireTool('skopeo', 'skopeo');
  const dir = mkdtempSync(join(tmpdir(), 'berth-skopeo-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const policy = join(dir, 'policy.json');
  writeFileSync(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  const registriesD = join(dir, 'registries.d');
  mkdirSync(registriesD);
  const registriesConf = join(dir, 'registries.conf');
  writeFileSync(registriesConf, 'unqualified-search-registries = []\n');
  setup = {
    binary,
    globalArgs: ['--policy', policy, '--registries.d', registriesD],
    env: { CONTAINERS_REGISTRIES_CONF: registriesConf },
  };
  return setup;
}

/**
 * Runs `skopeo <global isolation flags> <args>`.
 *
 * @param args - Sub-command and its arguments.
 * @param timeoutMs - Kill skopeo after this long; default 240 000 ms.
 */
export function skopeo(args: readonly string[], timeoutMs = 240_000): Promise<RunResult> {
  const s = skopeoSetup();
  return run(s.binary, [...s.globalArgs, ...args], { env: s.env, timeoutMs });
}

/**
 * `skopeo copy` between any two transports, plain HTTP and anonymous on both sides, with
 * `--preserve-digests` so that skopeo fails instead of silently rewriting a manifest.
 *
 * @param src - Source reference, e.g. `oci:/tmp/layout:tag` or `docker://host/repo:tag`.
 * @param dst - Destination reference.
 * @param extra - More `skopeo copy` flags (e.g. `--all`, `--format v2s2`).
 * @param global - skopeo flags placed before `copy` (e.g. `--override-arch arm64`).
 */
export async function skopeoCopy(
  src: string,
  dst: string,
  extra: readonly string[] = [],
  global: readonly string[] = [],
): Promise<void> {
  const flags = ['--quiet', '--preserve-digests'];
  if (src.startsWith('docker://')) flags.push('--src-tls-verify=false', '--src-no-creds');
  if (dst.startsWith('docker://')) flags.push('--dest-tls-verify=false', '--dest-no-creds');
  await skopeo([...global, 'copy', ...flags, ...extra, src, dst]);
}

/** Flags for skopeo sub-commands that talk to one registry (`inspect`, `list-tags`, ...). */
export const REGISTRY_FLAGS: readonly string[] = ['--tls-verify=false', '--no-creds'];
