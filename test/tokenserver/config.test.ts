import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadTokenServerConfig } from '../../src/tokenserver/config.js';
import { TokenServerConfigError } from '../../src/tokenserver/yaml-file.js';

describe('loadTokenServerConfig', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-tscfg-'));
  });
  after(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  const load = async (text: string) => {
    const file = join(dir, 'config.yml');
    await writeFile(file, text);
    return loadTokenServerConfig(file);
  };
  const problems = async (text: string): Promise<string[]> => {
    try {
      await load(text);
    } catch (err) {
      assert.ok(err instanceof TokenServerConfigError, String(err));
      return err.problems;
    }
    assert.fail('the configuration was accepted');
  };
  const minimal = 'addr: 127.0.0.1:5001\nissuer: iss\nservice: reg\nkey: k.pem\nacl: acl.yml\n';

  test('fills in defaults and resolves paths against the file', async () => {
    const config = await load(minimal);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.port, 5001);
    assert.deepEqual(config.services, ['reg']);
    assert.equal(config.keyFile, join(dir, 'k.pem'));
    assert.equal(config.aclFile, join(dir, 'acl.yml'));
    assert.equal(config.certificateFile, null);
    assert.equal(config.htpasswdFile, null);
    assert.equal(config.expirationSeconds, 300);
    assert.equal(config.refreshExpirationSeconds, 0);
    assert.equal(config.log.level, 'info');
  });

  test('takes a list of services, a certificate, durations and absolute paths', async () => {
    const config = await load(
      'addr: "[::1]:0"\nissuer: iss\nservice: [a, b]\nkey: /k.pem\ncertificate: c.pem\n' +
        'expiration: 1h30m\nrefreshexpiration: 720h\nhtpasswd: /etc/htpasswd\nacl: /acl.yml\n' +
        'log: {level: debug, formatter: text}\n',
    );
    assert.equal(config.host, '::1');
    assert.equal(config.port, 0);
    assert.deepEqual(config.services, ['a', 'b']);
    assert.equal(config.keyFile, '/k.pem');
    assert.equal(config.certificateFile, join(dir, 'c.pem'));
    assert.equal(config.expirationSeconds, 5400);
    assert.equal(config.refreshExpirationSeconds, 720 * 3600);
    assert.equal(config.htpasswdFile, '/etc/htpasswd');
    assert.equal(config.log.formatter, 'text');
  });

  test('names every unknown key', async () => {
    const found = await problems(`${minimal}expiry: 5m\nlog: {level: info, colour: true}\n`);
    assert.deepEqual(found.sort(), ['expiry: unknown key', 'log.colour: unknown key']);
  });

  test('names every missing required key', async () => {
    const found = await problems('addr: 127.0.0.1:5001\n');
    assert.deepEqual(found.sort(), [
      'acl: required',
      'issuer: required',
      'key: required',
      'service: required',
    ]);
  });

  test('refuses an expiration under the 60 seconds token.md requires', async () => {
    const found = await problems(`${minimal}expiration: 59s\n`);
    assert.match(found.join('\n'), /^expiration: expected a duration of at least 60s/);
  });

  test('refuses a refresh expiration that is neither 0 nor a duration', async () => {
    const found = await problems(`${minimal}refreshexpiration: forever\n`);
    assert.deepEqual(found, ['refreshexpiration: expected 0 or a duration such as 720h']);
    assert.equal((await load(`${minimal}refreshexpiration: 0\n`)).refreshExpirationSeconds, 0);
  });

  test('refuses an address without a port', async () => {
    const found = await problems(minimal.replace('127.0.0.1:5001', '127.0.0.1'));
    assert.match(found.join('\n'), /^addr: expected host:port/);
  });

  test('reports an unreadable file as a configuration error', async () => {
    await assert.rejects(loadTokenServerConfig(join(dir, 'missing.yml')), TokenServerConfigError);
  });
});
