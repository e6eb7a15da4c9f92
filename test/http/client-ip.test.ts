import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientIp, withoutPort } from '../../src/http/client-ip.js';

function headers(values: Record<string, string>): (name: string) => string | undefined {
  return (name) => values[name];
}

describe('the client address of a request', () => {
  const peer = (): string => '192.0.2.9';

  const cases: [string, Record<string, string>, string][] = [
    ['the peer without any forwarding header', {}, '192.0.2.9'],
    [
      'the first X-Forwarded-For entry',
      { 'x-forwarded-for': ' 198.51.100.1 , 10.0.0.1' },
      '198.51.100.1',
    ],
    ['X-Real-IP when X-Forwarded-For is absent', { 'x-real-ip': '198.51.100.2' }, '198.51.100.2'],
    [
      'X-Forwarded-For before X-Real-IP',
      { 'x-forwarded-for': '198.51.100.3', 'x-real-ip': '198.51.100.4' },
      '198.51.100.3',
    ],
    [
      'X-Real-IP when the X-Forwarded-For entry is empty',
      { 'x-forwarded-for': ' ,1.2.3.4', 'x-real-ip': '198.51.100.5' },
      '198.51.100.5',
    ],
    ['an entry without its port', { 'x-forwarded-for': '198.51.100.6:4711' }, '198.51.100.6'],
    [
      'a bracketed IPv6 entry without its port',
      { 'x-real-ip': '[2001:db8::7]:443' },
      '2001:db8::7',
    ],
    ['a bare IPv6 entry as it is', { 'x-forwarded-for': '2001:db8::8' }, '2001:db8::8'],
  ];
  for (const [name, values, expected] of cases) {
    test(`is ${name}`, () => {
      assert.equal(clientIp(headers(values), peer), expected);
    });
  }

  test('reads the peer only when no header names an address', () => {
    let reads = 0;
    clientIp(headers({ 'x-forwarded-for': '198.51.100.1' }), () => String(++reads));
    assert.equal(reads, 0);
  });

  test('withoutPort leaves text that is no host:port alone', () => {
    assert.equal(withoutPort('not an address'), 'not an address');
    assert.equal(
      withoutPort('2001:0db8:0000:0000:0000:0000:0000:0001'),
      '2001:0db8:0000:0000:0000:0000:0000:0001',
    );
  });
});
