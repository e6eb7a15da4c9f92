import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAccessController } from '../../src/auth/factory.js';
import { TOKEN_SIGNING_ALGORITHMS } from '../../src/config/schema.js';
import { captureLog } from './helpers.js';

test('no auth section means no access controller', async () => {
  assert.equal(await createAccessController(null, captureLog().log), null);
});

test('each auth kind builds its controller, logging under its name', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-factory-'));
  try {
    const { log, lines } = captureLog();
    const silly = await createAccessController({ kind: 'silly', realm: 'r', service: 's' }, log);
    assert.equal(silly?.name, 'silly');
    assert.ok(lines().some((l) => l['auth'] === 'silly' && l['level'] === 40));

    const path = join(dir, 'htpasswd');
    const htpasswd = await createAccessController({ kind: 'htpasswd', realm: 'r', path }, log);
    assert.equal(htpasswd?.name, 'htpasswd');
    assert.ok(lines().some((l) => l['auth'] === 'htpasswd' && 'generatedPassword' in l));

    const jwks = join(dir, 'jwks.json');
    await writeFile(
      jwks,
      JSON.stringify({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43), kid: 'k' }] }),
    );
    const tokenConfig = {
      kind: 'token' as const,
      realm: 'https://auth.test/token',
      service: 's',
      issuer: 'i',
      rootcertbundle: null,
      jwks,
      autoredirect: false,
      autoredirectpath: '/auth/token',
      signingalgorithms: [...TOKEN_SIGNING_ALGORITHMS],
    };
    const token = await createAccessController(tokenConfig, log);
    assert.equal(token?.name, 'token');
    await Promise.all([silly?.close(), htpasswd?.close(), token?.close()]);

    await assert.rejects(
      createAccessController({ ...tokenConfig, jwks: join(dir, 'missing.json') }, log),
      /ENOENT/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
