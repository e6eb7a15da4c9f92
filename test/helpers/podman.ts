/**
 * Running `podman` (4.3 here, as root) isolated from the host: every instance has its own
 * image storage (`--root`, a short `--runroot`, vfs driver, so no overlay mount is needed), its own
 * empty `containers.conf` and `registries.conf`, a `HOME` and `XDG_RUNTIME_DIR` of its own,
 * and one auth file passed with `--authfile` to every command that talks to a registry, so
 * ~/.docker and /run/containers are never read or written. Nothing here runs a container.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOciRef } from './images.js';
import { requireTool, run, type RunResult } from './tools.js';

/** One isolated podman installation. */
export interface Podman {
  /** The auth file `login` writes and `push`/`pull` read. */
  authFile: string;
  /** The signature policy file (accept anything) given to `push` and `pull`. */
  policy: string;
  /** Runs `podman <isolation flags> <args>`. */
  run(args: readonly string[], timeoutMs?: number): Promise<RunResult>;
  /** Flags for `login` and `logout`: plain HTTP, this instance's auth file. */
  loginFlags: readonly string[];
  /** Flags for `push` and `pull`: those of `login`, and this instance's signature policy. */
  transferFlags: readonly string[];
  /** Removes the storage (`podman system reset`) and the directory. */
  dispose(): Promise<void>;
}

/**
 * Prepares an isolated podman in `dir` (created; removed by `dispose`).
 *
 * @throws Error naming the apt package when podman is missing.
 */
export async function createPodman(dir: string): Promise<Podman> {
  const binary = requireTool('podman', 'podman');
  await mkdir(join(dir, 'home'), { recursive: true });
  await mkdir(join(dir, 'xdg'), { recursive: true, mode: 0o700 });
  await mkdir(join(dir, 'tmp'), { recursive: true });
  const containersConf = join(dir, 'containers.conf');
  await writeFile(containersConf, '');
  const registriesConf = join(dir, 'registries.conf');
  await writeFile(registriesConf, 'unqualified-search-registries = []\n');
  const policy = join(dir, 'policy.json');
  await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  // podman refuses an --authfile that does not exist for push and pull (login creates it).
  const authFile = join(dir, 'auth.json');
  await writeFile(authFile, '{"auths":{}}\n');

  const env = {
    HOME: join(dir, 'home'),
    XDG_RUNTIME_DIR: join(dir, 'xdg'),
    CONTAINERS_CONF: containersConf,
    CONTAINERS_REGISTRIES_CONF: registriesConf,
    REGISTRY_AUTH_FILE: authFile,
  };
  // podman 4.3 refuses a runroot path over 50 characters, so it cannot live under `dir`.
  const runroot = await mkdtemp(join(tmpdir(), 'berth-podman-'));
  const global = [
    ...['--root', join(dir, 'storage'), '--runroot', runroot],
    ...['--storage-driver', 'vfs', '--events-backend', 'none', '--cgroup-manager', 'cgroupfs'],
    ...['--tmpdir', join(dir, 'tmp')],
  ];
  const podman = (args: readonly string[], timeoutMs = 240_000): Promise<RunResult> =>
    run(binary, [...global, ...args], { env, timeoutMs });
  return {
    authFile,
    policy,
    run: podman,
    loginFlags: ['--tls-verify=false', '--authfile', authFile],
    transferFlags: ['--tls-verify=false', '--authfile', authFile, '--signature-policy', policy],
    async dispose() {
      await podman(['system', 'reset', '--force']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
      await rm(runroot, { recursive: true, force: true });
    },
  };
}

/**
 * Loads an image from an OCI layout reference (`oci:DIR:TAG`) into podman's storage.
 *
 * podman names the loaded image after the layout's path, which must then be a valid,
 * lowercase, repository name; temporary directories are mixed-case, so the layout is
 * reached through a lowercase symbolic link.
 *
 * @returns The image id (its config digest without `sha256:`).
 */
export async function loadIntoPodman(podman: Podman, ociRef: string): Promise<string> {
  const { dir, tag } = parseOciRef(ociRef);
  const link = join(tmpdir(), `berth-podman-src-${randomBytes(6).toString('hex')}`);
  await symlink(dir, link);
  try {
    const policy = ['--signature-policy', podman.policy];
    const { stdout } = await podman.run(['pull', '--quiet', ...policy, `oci:${link}:${tag}`]);
    const id = stdout.trim().split('\n').pop() ?? '';
    if (!/^[0-9a-f]{64}$/.test(id)) throw new Error(`podman pull printed no image id: ${stdout}`);
    return id;
  } finally {
    await rm(link, { force: true });
  }
}
