import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, embeddedDefaultConfig, loadConfig } from '../../src/config/load.js';

// Tests run from dist/test/config/; the fixture stays in the source tree.
const FIXTURE = fileURLToPath(
  new URL('../../../test/config/fixtures/reference-config.yml', import.meta.url),
);
const CWD = '/srv/berth';

const made: string[] = [];
after(() => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))));

async function writeConfig(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-config-'));
  made.push(dir);
  const file = join(dir, 'config.yml');
  await writeFile(file, text);
  return file;
}

/** Loads `text` as a config file and returns the problems it is rejected with. */
async function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const file = await writeConfig(text);
  const err = await loadConfig(file, env, CWD).then(
    () => assert.fail('expected a ConfigError'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConfigError);
  return err.problems;
}

const MINIMAL = 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /data\n';

test('without a file the registry listens on 127.0.0.1:5000 and stores under ./data', async () => {
  const { config } = await loadConfig(undefined, {}, CWD);
  assert.equal(config.version, '0.1');
  assert.equal(config.http.addr, '127.0.0.1:5000');
  assert.equal(config.http.net, 'tcp');
  assert.equal(config.http.prefix, '/');
  assert.equal(config.storage.driver, 'filesystem');
  assert.deepEqual(config.storage.parameters, {
    rootdirectory: '/srv/berth/data',
    maxthreads: 100,
  });
  assert.equal(config.log.level, 'info');
  assert.equal(config.log.formatter, 'text');
  assert.equal(config.storage.delete.enabled, false);
  assert.deepEqual(config.storage.maintenance.uploadpurging, {
    enabled: true,
    age: '168h',
    interval: '24h',
    dryrun: false,
  });
  assert.match(embeddedDefaultConfig, /rootdirectory: \.\/data/);
});

test('a typical reference config.yml loads unchanged', async () => {
  const { config, warnings } = await loadConfig(FIXTURE, {}, CWD);
  assert.deepEqual(config.log, {
    level: 'debug',
    formatter: 'json',
    fields: { service: 'registry', environment: 'staging' },
    accesslog: { disabled: false },
  });
  assert.equal(config.storage.driver, 'filesystem');
  assert.deepEqual(config.storage.parameters, {
    rootdirectory: '/var/lib/registry',
    maxthreads: 100,
  });
  assert.equal(config.storage.delete.enabled, true);
  assert.equal(config.storage.redirect.disable, true);
  assert.deepEqual(config.http, {
    addr: ':5000',
    net: 'tcp',
    prefix: '/registry/',
    host: 'https://registry.example.com',
    secret: 'asecretforlocaldevelopment',
    secretGenerated: false,
    relativeurls: false,
    gateway: true,
    headers: {
      'X-Content-Type-Options': ['nosniff'],
      'Strict-Transport-Security': ['max-age=31536000'],
    },
    draintimeoutMs: 60_000,
  });
  assert.deepEqual(warnings, []);
});

test('the loaded configuration is deeply frozen', async () => {
  const { config } = await loadConfig(FIXTURE, {}, CWD);
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.http.headers['X-Content-Type-Options']));
  assert.equal(Reflect.set(config.storage.delete, 'enabled', false), false);
  assert.equal(config.storage.delete.enabled, true);
});

test('environment variables override nested keys, with YAML-typed values', async () => {
  const { config, warnings } = await loadConfig(
    FIXTURE,
    {
      REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/somewhere',
      REGISTRY_STORAGE_FILESYSTEM_MAXTHREADS: '50',
      REGISTRY_STORAGE_DELETE_ENABLED: 'false',
      REGISTRY_LOG_LEVEL: 'warn',
      REGISTRY_HTTP_ADDR: '0.0.0.0:6000',
      REGISTRY_HTTP_DRAINTIMEOUT: '1m30s',
      'REGISTRY_HTTP_HEADERS_X-CONTENT-TYPE-OPTIONS': '[nosniff, other]',
      REGISTRY_HTTP_SECRET: '0123',
    },
    CWD,
  );
  assert.deepEqual(config.storage.parameters, { rootdirectory: '/somewhere', maxthreads: 50 });
  assert.equal(config.storage.delete.enabled, false);
  assert.equal(config.log.level, 'warn');
  assert.equal(config.http.addr, '0.0.0.0:6000');
  assert.equal(config.http.draintimeoutMs, 90_000);
  assert.deepEqual(config.http.headers['x-content-type-options'], ['nosniff', 'other']);
  assert.equal(config.http.headers['X-Content-Type-Options'], undefined);
  // A string option keeps the variable's text, as the reference does.
  assert.equal(config.http.secret, '0123');
  assert.deepEqual(warnings, []);
});

test('environment variables override the embedded default too', async () => {
  const { config } = await loadConfig(undefined, { REGISTRY_STORAGE_DELETE_ENABLED: 'true' }, CWD);
  assert.equal(config.storage.delete.enabled, true);
  assert.equal(config.http.addr, '127.0.0.1:5000');
});

test('REGISTRY_STORAGE=inmemory switches the driver and keeps the storage options', async () => {
  const { config } = await loadConfig(FIXTURE, { REGISTRY_STORAGE: 'inmemory' }, CWD);
  assert.equal(config.storage.driver, 'inmemory');
  assert.deepEqual(config.storage.parameters, {});
  assert.equal(config.storage.delete.enabled, true);
});

test('an environment variable naming no known key is a warning, not an error', async () => {
  const { warnings } = await loadConfig(
    undefined,
    {
      REGISTRY_AUTH_FILE: '/run/user/1000/containers/auth.json',
      REGISTRY_HTTP_NOPE: '1',
    },
    CWD,
  );
  assert.ok(warnings.some((w) => w.includes('REGISTRY_AUTH_FILE')));
  assert.ok(warnings.some((w) => w.includes('REGISTRY_HTTP_NOPE')));
});

test('an unknown key is rejected with its dotted path', async () => {
  const problems = await problemsOf(`${MINIMAL}http:\n  adress: :5000\nfoo: 1\n`);
  assert.deepEqual(problems, ['http.adress: unknown key', 'foo: unknown key']);
});

test('a value of the wrong type is rejected with its dotted path', async () => {
  const problems = await problemsOf(`${MINIMAL}  delete:\n    enabled: sometimes\n`);
  assert.equal(problems.length, 1);
  assert.match(problems[0] ?? '', /^storage\.delete\.enabled: expected true or false/);
});

test('every problem is reported at once', async () => {
  const problems = await problemsOf(
    [
      'version: 0.2',
      'log:',
      '  level: loud',
      'storage:',
      '  filesystem:',
      '    maxthreads: many',
      'http:',
      '  net: udp',
      '  draintimeout: soon',
    ].join('\n'),
  );
  assert.deepEqual(problems, [
    'version: unsupported version; expected 0.1',
    'log.level: expected one of error, warn, info, debug',
    'storage.filesystem.maxthreads: expected integer >= 1',
    'http.net: expected tcp or unix',
    'http.draintimeout: expected a non-negative duration such as 60s or 1m30s',
  ]);
});

test('a problem caused by an environment variable names the variable', async () => {
  const err = await loadConfig(
    undefined,
    { REGISTRY_STORAGE_FILESYSTEM_MAXTHREADS: '-4' },
    CWD,
  ).then(
    () => assert.fail('expected a ConfigError'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConfigError);
  assert.deepEqual(err.problems, [
    'storage.filesystem.maxthreads: expected integer >= 1 ' +
      '(set by REGISTRY_STORAGE_FILESYSTEM_MAXTHREADS)',
  ]);
});

test('maxthreads below 25 is raised to 25 with a warning, as the reference does', async () => {
  const { config, warnings } = await loadConfig(
    undefined,
    { REGISTRY_STORAGE_FILESYSTEM_MAXTHREADS: '10' },
    CWD,
  );
  assert.equal(config.storage.parameters['maxthreads'], 25);
  assert.ok(warnings.some((w) => w.startsWith('storage.filesystem.maxthreads: 10 is below 25')));
});

test('the prefix always starts and ends with a slash', async () => {
  const cases: Array<[string, string]> = [
    ['', '/'],
    ['/', '/'],
    ['registry', '/registry/'],
    ['/registry', '/registry/'],
    ['registry/', '/registry/'],
    ['/a/b/', '/a/b/'],
  ];
  for (const [prefix, expected] of cases) {
    const { config } = await loadConfig(undefined, { REGISTRY_HTTP_PREFIX: prefix }, CWD);
    assert.equal(config.http.prefix, expected, `prefix ${JSON.stringify(prefix)}`);
  }
});

test('draintimeout is read as a Go duration', async () => {
  const cases: Array<[string, number]> = [
    ['60s', 60_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['1.5h', 5_400_000],
    ['0', 0],
    ['2000000000', 2000], // a bare integer is nanoseconds, as in yaml.v2
  ];
  for (const [text, ms] of cases) {
    const { config } = await loadConfig(undefined, { REGISTRY_HTTP_DRAINTIMEOUT: text }, CWD);
    assert.equal(config.http.draintimeoutMs, ms, text);
  }
  const { config } = await loadConfig(undefined, {}, CWD);
  assert.equal(config.http.draintimeoutMs, 0);
});

test('proxy and registry middleware are refused', async () => {
  const problems = await problemsOf(
    `${MINIMAL}proxy:\n  remoteurl: https://mirror.internal\n` +
      'middleware:\n  registry:\n    plugin: x\n',
  );
  assert.deepEqual(
    problems.map((p) => p.slice(0, p.indexOf(':'))),
    ['proxy', 'middleware.registry'],
  );
  assert.ok(problems.every((p) => p.includes('not supported yet')));
});

test('storage drivers Berth lacks and TLS are refused as not supported yet', async () => {
  const problems = await problemsOf(
    'version: 0.1\nstorage:\n  gcs:\n    bucket: b\nhttp:\n  tls:\n    certificate: /c\n',
  );
  assert.deepEqual(
    problems.map((p) => p.slice(0, p.indexOf(':'))),
    ['storage.gcs', 'http.tls'],
  );
  assert.ok(problems.every((p) => p.includes('not supported yet')));
});

test('a storage section with no driver or two drivers is rejected', async () => {
  const none = await problemsOf('version: 0.1\nstorage:\n  delete:\n    enabled: true\n');
  assert.match(none[0] ?? '', /^storage: no storage driver/);
  const two = await problemsOf(`${MINIMAL}  inmemory:\n`);
  assert.match(two[0] ?? '', /^storage: more than one storage driver \(filesystem, inmemory\)/);
});

test('harmless sections Berth does not implement are accepted with a warning', async () => {
  const file = await writeConfig(
    `${MINIMAL}loglevel: debug\nredis:\n  addr: localhost:6379\n` +
      'health:\n  storagedriver:\n    enabled: true\n' +
      'http:\n  debug:\n    addr: localhost:5001\n  http2:\n    disabled: false\n',
  );
  const { config, warnings } = await loadConfig(file, {}, CWD);
  assert.equal(config.log.level, 'debug');
  for (const key of ['loglevel', 'redis', 'health', 'http.debug', 'http.http2']) {
    assert.ok(
      warnings.some((w) => w.startsWith(`${key}:`)),
      key,
    );
  }
});

test('a missing secret is generated and reported', async () => {
  const { config, warnings } = await loadConfig(undefined, {}, CWD);
  assert.match(config.http.secret, /^[0-9a-f]{64}$/);
  assert.equal(config.http.secretGenerated, true);
  assert.ok(warnings.some((w) => w.startsWith('http.secret:')));
});

test('a relative root directory is resolved against the working directory', async () => {
  const env = { REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: 'images' };
  const { config } = await loadConfig(undefined, env, CWD);
  assert.equal(config.storage.parameters['rootdirectory'], '/srv/berth/images');
});

test('a file without version or storage is rejected', async () => {
  const problems = await problemsOf('http:\n  addr: :5000\n');
  assert.deepEqual(problems, ['version: required (must be 0.1)', 'storage: required']);
});

test('a missing file is a ConfigError naming the file', async () => {
  const file = join(tmpdir(), 'berth-no-such-dir', 'config.yml');
  await assert.rejects(loadConfig(file, {}, CWD), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.problems, [`${file}: configuration file not found`]);
    assert.ok(err.message.includes(file));
    return true;
  });
});

test('malformed YAML is a ConfigError naming the file', async () => {
  const file = await writeConfig('version: 0.1\nhttp: [\n');
  await assert.rejects(loadConfig(file, {}, CWD), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.ok(err.problems.every((p) => p.startsWith(`${file}:`)));
    return true;
  });
});

test('the s3 section is checked by the driver, naming the parameter', async () => {
  const problems = await problemsOf('version: 0.1\nstorage:\n  s3:\n    bucket: b\n');
  assert.equal(problems.length, 1);
  assert.match(problems[0] ?? '', /^storage\.s3: .*region/);
});

test('an s3 section is passed to the driver, with REGISTRY_STORAGE_S3_* overrides', async () => {
  const file = await writeConfig(
    'version: 0.1\nstorage:\n  s3:\n    region: us-east-1\n    bucket: b\n',
  );
  const { config } = await loadConfig(file, { REGISTRY_STORAGE_S3_ROOTDIRECTORY: '/reg' }, CWD);
  assert.equal(config.storage.driver, 's3');
  assert.deepEqual(config.storage.parameters, {
    region: 'us-east-1',
    bucket: 'b',
    rootdirectory: '/reg',
  });
});

test('an s3 secret given by a variable keeps its text, leading zeros and all', async () => {
  const file = await writeConfig('version: 0.1\nstorage:\n  s3:\n    region: r\n    bucket: b\n');
  const { config } = await loadConfig(
    file,
    { REGISTRY_STORAGE_S3_ACCESSKEY: '0123', REGISTRY_STORAGE_S3_SECRETKEY: '12e3' },
    CWD,
  );
  assert.equal(config.storage.parameters['accesskey'], '0123');
  assert.equal(config.storage.parameters['secretkey'], '12e3');
});

test('an auth section that configures nothing warns that the registry is open', async () => {
  const file = await writeConfig(`${MINIMAL}auth: {}\n`);
  const { config, warnings } = await loadConfig(file, {}, CWD);
  assert.equal(config.auth, null);
  assert.ok(warnings.some((w) => w.startsWith('auth: no access controller configured')));
});

/** A `middleware.storage` list of one cloudfront entry with `extra` options, as YAML. */
function cloudfrontConfig(extra: string): string {
  return (
    `${MINIMAL}middleware:\n  storage:\n    - name: cloudfront\n      options:\n` +
    '        baseurl: https://d111.cf.test/\n        privatekey: /keys/cf.pem\n' +
    `        keypairid: KP1\n${extra}`
  );
}

test('cloudfront IP filter options are accepted as the reference writes them', async () => {
  const ok = [
    '        ipfilteredby: aws\n',
    '        ipfilteredby: none\n',
    '        ipfilteredby: " AWSRegion "\n        awsregion: us-east-1, use-east-2\n',
    '        ipfilteredby: awsregion\n        awsregion: [us-east-1, eu-west-1]\n',
    '        ipfilteredby: aws\n        updatefrequency: 30m\n' +
      '        iprangesurl: http://127.0.0.1:8080/ip-ranges.json\n',
    '        ipfilteredby: aws\n        updatefrenquency: 1h\n',
  ];
  for (const extra of ok) {
    const { config } = await loadConfig(await writeConfig(cloudfrontConfig(extra)), {}, CWD);
    assert.equal(config.storage.middleware[0]?.name, 'cloudfront', extra);
  }
});

test('bad cloudfront and middleware options are ConfigErrors naming the option', async () => {
  const key = 'middleware.storage.0.options';
  const cases: [string, string][] = [
    [
      '        ipfilteredby: gcp\n',
      `${key}.ipfilteredby: expected none, aws or awsregion, got gcp`,
    ],
    ['        ipfilteredby: [aws]\n', `${key}.ipfilteredby: expected none, aws or awsregion`],
    ['        ipfilteredby: awsregion\n', `${key}.awsregion: required with ipfilteredby awsregion`],
    ['        ipfilteredby: awsregion\n        awsregion: ""\n', `${key}.awsregion: required`],
    ['        ipfilteredby: awsregion\n        awsregion: {a: 1}\n', `${key}.awsregion: expected`],
    ['        ipfilteredby: awsregion\n        awsregion: us east\n', `${key}.awsregion: expected`],
    ['        ipfilteredby: aws\n        awsregion: us-east-1\n', `${key}.awsregion: only used`],
    [
      '        ipfilteredby: aws\n        updatefrequency: 12\n',
      `${key}.updatefrequency: expected`,
    ],
    [
      '        ipfilteredby: aws\n        updatefrequency: 0s\n',
      `${key}.updatefrequency: expected`,
    ],
    ['        ipfilteredby: aws\n        iprangesurl: ftp://x/\n', `${key}.iprangesurl: must be`],
    ['        ipfiltredby: aws\n', `${key}.ipfiltredby: unknown option`],
  ];
  for (const [extra, expected] of cases) {
    const problems = await problemsOf(cloudfrontConfig(extra));
    assert.equal(problems.length, 1, extra);
    assert.ok(problems[0]?.startsWith(expected), `${extra}: ${problems[0]}`);
  }
  const unknown = await problemsOf(`${MINIMAL}middleware:\n  storage:\n    - name: alicdn\n`);
  assert.deepEqual(unknown, [
    'middleware.storage.0.name: storage middleware alicdn is not supported (redirect, cloudfront are)',
  ]);
  const noBase = await problemsOf(`${MINIMAL}middleware:\n  storage:\n    - name: redirect\n`);
  assert.deepEqual(noBase, ['middleware.storage.0.options.baseurl: must be an http or https URL']);
});
