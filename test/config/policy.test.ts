import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import type { ManifestPolicyConfig } from '../../src/config/types.js';

const made: string[] = [];
after(() => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))));

const MINIMAL = 'version: 0.1\nstorage:\n  inmemory:\n';

async function policyOf(
  text: string,
): Promise<{ policy: ManifestPolicyConfig; warnings: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-policy-'));
  made.push(dir);
  const file = join(dir, 'config.yml');
  await writeFile(file, MINIMAL + text);
  const { config, warnings } = await loadConfig(file, {}, dir);
  return { policy: config.manifests, warnings };
}

test('without validation or compatibility sections the reference defaults apply', async () => {
  const { policy } = await policyOf('');
  assert.deepEqual(policy, {
    schema1: false,
    urls: { allow: [], deny: [] },
    indexes: { mode: 'all', platforms: [] },
  });
});

test('compatibility.schema1.enabled turns schema 1 on; signingkeyfile only warns', async () => {
  const { policy, warnings } = await policyOf(
    'compatibility:\n  schema1:\n    enabled: true\n    signingkeyfile: /etc/key.json\n',
  );
  assert.equal(policy.schema1, true);
  assert.ok(warnings.some((w) => w.startsWith('compatibility.schema1.signingkeyfile')));
});

test('validation lists and index platforms are read as written', async () => {
  const { policy, warnings } = await policyOf(
    [
      'validation:',
      '  manifests:',
      '    urls:',
      '      allow: ["^https?://([^/]+\\\\.)*example\\\\.com/"]',
      '      deny: ["^https?://www\\\\.example\\\\.com/"]',
      '    indexes:',
      '      platforms: list',
      '      platformlist:',
      '        - os: linux',
      '          architecture: amd64',
      '',
    ].join('\n'),
  );
  assert.deepEqual(policy.urls, {
    allow: ['^https?://([^/]+\\.)*example\\.com/'],
    deny: ['^https?://www\\.example\\.com/'],
  });
  assert.deepEqual(policy.indexes, {
    mode: 'list',
    platforms: [{ os: 'linux', architecture: 'amd64' }],
  });
  assert.ok(warnings.some((w) => w.startsWith('validation.manifests.indexes.platforms')));
});

test('validation.disabled turns every check off, as the reference does', async () => {
  const { policy } = await policyOf('validation:\n  disabled: true\n');
  assert.equal(policy.urls, null);
  assert.equal(policy.indexes.mode, 'none');
});

test('a regular expression that does not compile is refused naming its key', async () => {
  const err = await policyOf('validation:\n  manifests:\n    urls:\n      allow: ["("]\n').then(
    () => assert.fail('expected a ConfigError'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConfigError);
  assert.ok(
    err.problems.some((p) => p.startsWith('validation.manifests.urls.allow.0:')),
    err.message,
  );
});

test('an unknown platforms mode is refused', async () => {
  await assert.rejects(
    policyOf('validation:\n  manifests:\n    indexes:\n      platforms: some\n'),
    (err) => err instanceof ConfigError && /indexes\.platforms/.test(err.message),
  );
});
