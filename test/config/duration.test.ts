import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGoDuration } from '../../src/config/duration.js';

test('Go duration strings are converted to milliseconds', () => {
  assert.equal(parseGoDuration('60s'), 60_000);
  assert.equal(parseGoDuration('1m30s'), 90_000);
  assert.equal(parseGoDuration('500ms'), 500);
  assert.equal(parseGoDuration('168h'), 604_800_000);
  assert.equal(parseGoDuration('1.5s'), 1500);
  assert.equal(parseGoDuration('.5s'), 500);
  assert.equal(parseGoDuration('250us'), 0.25);
  assert.equal(parseGoDuration('250µs'), 0.25);
  assert.equal(parseGoDuration('2000000ns'), 2);
  assert.equal(parseGoDuration('-1m'), -60_000);
  assert.equal(parseGoDuration('0'), 0);
});

test('strings Go would not parse as durations are rejected', () => {
  for (const text of ['', '60', 's', '1 m', '1d', '1m 30s', '+', 'abc', '1.2.3s']) {
    assert.equal(parseGoDuration(text), undefined, JSON.stringify(text));
  }
});
