import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import uws from 'uWebSockets.js';

test('uWebSockets.js loads its native binding, not the pure-JS fallback', () => {
  // The fallback is plain JavaScript; the native addon's functions print as native code.
  assert.match(Function.prototype.toString.call(uws.App), /\[native code\]/);
  const require = createRequire(import.meta.url);
  const loaded = Object.keys(require.cache).filter((path) => path.includes('uWebSockets.js'));
  assert.ok(
    loaded.some((path) => path.endsWith('.node')),
    `expected a .node binary among ${loaded.join(', ')}`,
  );
});
