/**
 * End-to-end: real clients (skopeo 1.9, podman 4.3) against registries that require
 * authentication. Berth with `auth.htpasswd`; Berth with `auth.token` and Berth's own token
 * server (`berth token-server`), trusting it by JWKS `kid` and by `rootcertbundle` + `x5c`;
 * and the Go reference registry with the same token server, which checks that the tokens
 * are what the reference verifier expects (libtrust `kid`, `x5c` chain).
 *
 * Every client is hermetic: skopeo and podman read and write only auth files in the test's
 * directory (`--authfile`), never ~/.docker or /run/containers.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startBerth } from '../helpers/berth.js';
import { startGoRegistry } from '../helpers/go-registry.js';
import { buildMultiLayerImage, describeImage, type LayoutImage } from '../helpers/images.js';
import { createPodman, loadIntoPodman, type Podman } from '../helpers/podman.js';
import { freePort } from '../helpers/ports.js';
import type { RunningServer } from '../helpers/registry.js';
import { targetLabel, targetName } from '../helpers/target.js';
import { skopeo } from '../helpers/skopeo.js';
import { makeCert, writeHtpasswd } from '../helpers/token-keys.js';
import {
  prepareTokenServer,
  spawnTokenServer,
  type SpawnedTokenServer,
} from '../helpers/token-server.js';

const TIMEOUT = 300_000;
const ISSUER = 'berth-e2e-issuer';
const SERVICE = 'berth-e2e-registry';

/** alice may do anything, bob only pull under e2e/, anyone pull under public/. */
const USERS = { alice: 'alice-e2e-password', bob: 'bob-e2e-password' };
const ACL = `
rules:
  - {subject: user:alice, repository: '**', actions: ['*']}
  - {subject: user:alice, registry: catalog, actions: ['*']}
  - {subject: user:bob, repository: e2e/**, actions: [pull]}
  - {subject: anonymous, repository: public/*, actions: [pull]}
`;

/**
 * What a refused client says. A token that grants too little is answered 401
 * `insufficient_scope` by the reference and 403 DENIED by Berth; clients word either,
 * and a 401 from the token server, differently, and any of them is a refusal.
 */
const REFUSED = /unauthorized|denied|forbidden|authentication required|invalid username\/password/i;

/** State shared by the tests of one registry setup. */
interface Setup {
  registry: RunningServer;
  work: string;
  /** A small image in an OCI layout, and what it holds. */
  image: string;
  source: LayoutImage;
  /** The token server, when the registry uses token auth. */
  tokenServer?: SpawnedTokenServer;
}

/**
 * The client cases every authenticating registry must pass: skopeo with a login session
 * and with `--dest-creds`, podman login/push/pull, and refusals of wrong passwords.
 */
function clientCases(label: string, setup: () => Setup): void {
  const host = (): string => setup().registry.hostPort;
  const remote = (repo: string): string => `docker://${host()}/${repo}`;
  const withLogs = (err: unknown): string => {
    const s = setup();
    const ts = s.tokenServer === undefined ? '' : `\n--- token server ---\n${s.tokenServer.logs()}`;
    return `${String(err)}\n--- ${label} ---\n${s.registry.logs()}${ts}`;
  };
  let pulls = 0;
  const pullBack = async (repo: string, auth: string[]): Promise<LayoutImage> => {
    const ref = `oci:${join(setup().work, `pulled-${++pulls}`)}:pulled`;
    await skopeo(['copy', '--quiet', '--src-tls-verify=false', ...auth, remote(repo), ref]);
    return describeImage(ref);
  };

  test(
    'skopeo login keeps a session that skopeo copy pushes and pulls with',
    { timeout: TIMEOUT },
    async () => {
      const authFile = join(setup().work, 'skopeo-auth.json');
      await skopeo([
        'login',
        '--authfile',
        authFile,
        '--tls-verify=false',
        '-u',
        'alice',
        '-p',
        USERS.alice,
        host(),
      ]);
      try {
        const push = ['--dest-tls-verify=false', '--dest-authfile', authFile, '--preserve-digests'];
        await skopeo(['copy', '--quiet', ...push, setup().image, remote('e2e/session:v1')]);
      } catch (err) {
        assert.fail(withLogs(err));
      }
      const pulled = await pullBack('e2e/session:v1', ['--src-authfile', authFile]);
      assert.equal(pulled.digest, setup().source.digest);
      assert.deepEqual(pulled.blobs, setup().source.blobs);
      await skopeo(['logout', '--authfile', authFile, host()]);
    },
  );

  test('skopeo copy --dest-creds pushes without a login', { timeout: TIMEOUT }, async () => {
    const creds = ['--dest-creds', `alice:${USERS.alice}`, '--dest-tls-verify=false'];
    await skopeo([
      'copy',
      '--quiet',
      '--preserve-digests',
      ...creds,
      setup().image,
      remote('e2e/creds:v1'),
    ]).catch((err: unknown) => assert.fail(withLogs(err)));
    const pulled = await pullBack('e2e/creds:v1', ['--src-creds', `alice:${USERS.alice}`]);
    assert.equal(pulled.digest, setup().source.digest);
  });

  test('a wrong password fails skopeo login and skopeo copy', { timeout: TIMEOUT }, async () => {
    const authFile = join(setup().work, 'wrong-auth.json');
    await assert.rejects(
      skopeo([
        'login',
        '--authfile',
        authFile,
        '--tls-verify=false',
        '-u',
        'alice',
        '-p',
        'wrong',
        host(),
      ]),
      REFUSED,
    );
    const creds = ['--dest-creds', 'alice:wrong', '--dest-tls-verify=false'];
    await assert.rejects(
      skopeo(['copy', '--quiet', ...creds, setup().image, remote('e2e/wrong:v1')]),
      REFUSED,
    );
  });

  test('a push without credentials is refused', { timeout: TIMEOUT }, async () => {
    const flags = ['--dest-no-creds', '--dest-tls-verify=false'];
    await assert.rejects(
      skopeo(['copy', '--quiet', ...flags, setup().image, remote('e2e/anon:v1')]),
      REFUSED,
    );
  });

  test('podman login, push and pull', { timeout: TIMEOUT }, async () => {
    const podman: Podman = await createPodman(join(setup().work, `podman-${Date.now()}`));
    try {
      await podman.run(['login', ...podman.loginFlags, '-u', 'alice', '-p', USERS.alice, host()]);
      const id = await loadIntoPodman(podman, setup().image);
      const digestFile = join(setup().work, 'podman-digest');
      const target = `${host()}/e2e/podman:v1`;
      await podman
        .run([
          'push',
          ...podman.transferFlags,
          '--digestfile',
          digestFile,
          id,
          `docker://${target}`,
        ])
        .catch((err: unknown) => assert.fail(withLogs(err)));
      await podman.run(['rmi', '--force', id]);

      await podman.run(['pull', '--quiet', ...podman.transferFlags, target]);
      const { stdout } = await podman.run(['image', 'inspect', '--format', '{{.Id}}', target]);
      assert.equal(stdout.trim(), id, 'the pulled image has the pushed config');
      await podman.run(['logout', '--authfile', podman.authFile, host()]);
      await assert.rejects(
        podman.run(['pull', '--quiet', ...podman.transferFlags, `${host()}/e2e/podman:v1`]),
        REFUSED,
      );
    } finally {
      await podman.dispose();
    }
  });

  test('podman login with a wrong password fails', { timeout: TIMEOUT }, async () => {
    const podman = await createPodman(join(setup().work, `podman-wrong-${Date.now()}`));
    try {
      await assert.rejects(
        podman.run(['login', ...podman.loginFlags, '-u', 'alice', '-p', 'wrong', host()]),
        REFUSED,
      );
    } finally {
      await podman.dispose();
    }
  });
}

/** The token-only cases: what the ACL grants is what the registry allows. */
function tokenCases(setup: () => Setup): void {
  const remote = (repo: string): string => `docker://${setup().registry.hostPort}/${repo}`;

  test('a user with only pull can pull but is refused push', { timeout: TIMEOUT }, async () => {
    const alice = [
      '--dest-creds',
      `alice:${USERS.alice}`,
      '--dest-tls-verify=false',
      '--preserve-digests',
    ];
    await skopeo(['copy', '--quiet', ...alice, setup().image, remote('e2e/readonly:v1')]);

    const bob = ['--dest-creds', `bob:${USERS.bob}`, '--dest-tls-verify=false'];
    await assert.rejects(
      skopeo(['copy', '--quiet', ...bob, setup().image, remote('e2e/readonly:v2')]),
      REFUSED,
    );
    const ref = `oci:${join(setup().work, 'bob-pulled')}:pulled`;
    await skopeo([
      'copy',
      '--quiet',
      '--src-tls-verify=false',
      '--src-creds',
      `bob:${USERS.bob}`,
      remote('e2e/readonly:v1'),
      ref,
    ]);
    assert.equal((await describeImage(ref)).digest, setup().source.digest);
  });

  test(
    'an anonymous client pulls what the ACL gives anyone, and nothing else',
    { timeout: TIMEOUT },
    async () => {
      const alice = [
        '--dest-creds',
        `alice:${USERS.alice}`,
        '--dest-tls-verify=false',
        '--preserve-digests',
      ];
      await skopeo(['copy', '--quiet', ...alice, setup().image, remote('public/open:v1')]);

      const anon = ['--src-no-creds', '--src-tls-verify=false'];
      const ref = `oci:${join(setup().work, 'anon-pulled')}:pulled`;
      await skopeo(['copy', '--quiet', ...anon, remote('public/open:v1'), ref]);
      assert.equal((await describeImage(ref)).digest, setup().source.digest);
      const other = `oci:${join(setup().work, 'anon-refused')}:pulled`;
      await assert.rejects(
        skopeo(['copy', '--quiet', ...anon, remote('e2e/readonly:v1'), other]),
        REFUSED,
      );
    },
  );
}

/** Starts a registry setup in `before` and stops it in `after`; returns its accessor. */
function withSetup(
  start: (work: string) => Promise<Omit<Setup, 'work' | 'image' | 'source'>>,
): () => Setup {
  let current: Setup | undefined;
  let work = '';
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-e2e-auth-'));
    const image = await buildMultiLayerImage(join(work, 'source'), {
      layers: 2,
      smallLayerKiB: 64,
    });
    const source = await describeImage(image);
    current = { ...(await start(work)), work, image, source };
  });
  after(async () => {
    await current?.registry.stop();
    await current?.tokenServer?.stop();
    if (work !== '') await rm(work, { recursive: true, force: true });
  });
  return () => {
    if (current === undefined) throw new Error('the registry setup did not start');
    return current;
  };
}

type TokenTrust = 'jwks' | 'x5c' | 'kid-in-bundle';

/** Starts the token server, then a registry trusting it as `trust` says. */
async function startTokenSetup(
  work: string,
  trust: TokenTrust,
  startRegistry: (extraConfig: string) => Promise<RunningServer>,
): Promise<Omit<Setup, 'work' | 'image' | 'source'>> {
  const port = await freePort();
  const files = await prepareTokenServer(work, {
    port,
    issuer: ISSUER,
    service: SERVICE,
    users: USERS,
    acl: ACL,
    certificate: trust === 'x5c' ? 'ca' : 'none',
  });
  const tokenServer = await spawnTokenServer(files.config, port);
  const lines = [
    'auth:',
    '  token:',
    `    realm: ${tokenServer.realm}`,
    `    service: ${SERVICE}`,
    `    issuer: ${ISSUER}`,
  ];
  if (trust === 'jwks') {
    const jwks = join(work, 'jwks.json');
    await writeFile(jwks, tokenServer.jwks);
    lines.push(`    jwks: ${JSON.stringify(jwks)}`);
  } else if (trust === 'x5c') {
    lines.push(`    rootcertbundle: ${JSON.stringify(files.rootBundle)}`);
  } else {
    // No certificate in the tokens: the registry finds the key by the libtrust kid of a
    // bundle certificate for the same key.
    const cert = await makeCert(work, files.key, undefined, 'bundle');
    lines.push(`    rootcertbundle: ${JSON.stringify(cert)}`);
  }
  try {
    return { registry: await startRegistry(lines.join('\n')), tokenServer };
  } catch (err) {
    await tokenServer.stop();
    throw err;
  }
}

const berthWith = (extraConfig: string): Promise<RunningServer> =>
  startBerth({ extraConfig, readyStatus: 401 });
const goWith = (extraConfig: string): Promise<RunningServer> =>
  startGoRegistry({ extraConfig, readyStatus: 401 });
/** The registry under test: Berth, or the Go registry with BERTH_E2E_TARGET=go. */
const targetWith = targetName === 'go' ? goWith : berthWith;

describe(`skopeo and podman against ${targetLabel} with htpasswd auth`, () => {
  const setup = withSetup(async (work) => {
    const htpasswd = join(work, 'htpasswd');
    await writeHtpasswd(htpasswd, USERS);
    const extra = `auth:\n  htpasswd:\n    realm: berth\n    path: ${JSON.stringify(htpasswd)}`;
    return { registry: await targetWith(extra) };
  });
  clientCases(targetLabel, setup);
});

// The reference registry before v3 reads no JWKS file: with BERTH_E2E_TARGET=go this case
// has nothing to check.
describe(
  `skopeo and podman against ${targetLabel} with token auth, keys from the JWKS`,
  { skip: targetName === 'go' ? 'the Go registry 2.8 has no auth.token.jwks' : false },
  () => {
    const setup = withSetup((work) => startTokenSetup(work, 'jwks', targetWith));
    clientCases(targetLabel, setup);
    tokenCases(setup);
  },
);

describe(`skopeo and podman against ${targetLabel} with token auth, x5c up to rootcertbundle`, () => {
  const setup = withSetup((work) => startTokenSetup(work, 'x5c', targetWith));
  clientCases(targetLabel, setup);
  tokenCases(setup);
});

describe(`${targetLabel} with token auth finds the key by the libtrust kid of a bundle certificate`, () => {
  const setup = withSetup((work) => startTokenSetup(work, 'kid-in-bundle', targetWith));
  tokenCases(setup);
});

// Whatever the target, the tokens must also satisfy the reference verifier.
describe("the Go reference registry accepts Berth's tokens by x5c chain", () => {
  const setup = withSetup((work) => startTokenSetup(work, 'x5c', goWith));
  tokenCases(setup);
});

describe("the Go reference registry accepts Berth's tokens by libtrust kid", () => {
  const setup = withSetup((work) => startTokenSetup(work, 'kid-in-bundle', goWith));
  tokenCases(setup);
});
