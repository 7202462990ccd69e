import { describe, it, expect } from 'vitest';
import { Allowlist, parseCidr } from '../../src/socket/allowlist.js';

describe('parseCidr', () => {
  it('reads both families with and without a prefix', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr('10.1.2.3')).toEqual({ address: '10.1.2.3', prefix: 32, family: 'ipv4' });
    expect(parseCidr('2001:db8::/32')).toEqual({ address: '2001:db8::', prefix: 32, family: 'ipv6' });
    expect(parseCidr('::1')).toEqual({ address: '::1', prefix: 128, family: 'ipv6' });
    expect(parseCidr('0.0.0.0/0')?.prefix).toBe(0);
    expect(parseCidr('::/128')?.prefix).toBe(128);
  });

  it.each(['10.0.0.0/33', '::/129', '10.0.0.0/8/8', '10.0.0.0/ 8', '10.0.0.0/1e1', '256.0.0.0/8', 'fe80::1%lo', 'a.b.c.d/8', ''])(
    'refuses %j',
    (text) => expect(parseCidr(text)).toBeNull(),
  );
});

describe('Allowlist', () => {
  const list = new Allowlist(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32', '::1']);

  it('allows everyone when empty, and says so', () => {
    const open = new Allowlist([]);
    expect(open.allowsEveryone).toBe(true);
    expect(open.allows('203.0.113.9')).toBe(true);
    expect(open.allows(undefined)).toBe(true);
    expect(list.allowsEveryone).toBe(false);
  });

  it('matches IPv4 addresses inside and outside a block, edges included', () => {
    expect(list.allows('10.0.0.0')).toBe(true);
    expect(list.allows('10.255.255.255')).toBe(true);
    expect(list.allows('11.0.0.0')).toBe(false);
    expect(list.allows('9.255.255.255')).toBe(false);
    expect(list.allows('192.168.1.7')).toBe(true);
    expect(list.allows('192.168.1.8')).toBe(false);
  });

  it('matches IPv6 addresses, in any spelling', () => {
    expect(list.allows('2001:db8::1')).toBe(true);
    expect(list.allows('2001:0db8:ffff:ffff:ffff:ffff:ffff:ffff')).toBe(true);
    expect(list.allows('2001:db9::1')).toBe(false);
    expect(list.allows('::1')).toBe(true);
    expect(list.allows('0:0:0:0:0:0:0:1')).toBe(true);
    expect(list.allows('::2')).toBe(false);
  });

  it('matches an IPv4-mapped IPv6 address (a dual-stack listener) against IPv4 blocks', () => {
    expect(list.allows('::ffff:10.1.2.3')).toBe(true);
    expect(list.allows('::ffff:192.168.1.7')).toBe(true);
    expect(list.allows('::ffff:11.1.2.3')).toBe(false);
  });

  it('does not let an IPv6 block admit IPv4 peers or the reverse, but for the blocks that contain ::ffff:0:0/96', () => {
    const v6 = new Allowlist(['2001:db8::/32']);
    expect(v6.allows('10.0.0.1')).toBe(false);
    // IPv4 peers are ::ffff:a.b.c.d to IPv6: ::/0 and ::ffff:0:0/96 cover them (documented in OPERATIONS.md).
    expect(new Allowlist(['::/0']).allows('10.0.0.1')).toBe(true);
    expect(new Allowlist(['::ffff:0:0/96']).allows('10.0.0.1')).toBe(true);
    const v4only = new Allowlist(['0.0.0.0/0']);
    expect(v4only.allows('10.0.0.1')).toBe(true);
    expect(v4only.allows('2001:db8::5')).toBe(false);
  });

  it('refuses a missing or unparsable address when the list is not empty', () => {
    expect(list.allows(undefined)).toBe(false);
    expect(list.allows('')).toBe(false);
    expect(list.allows('not-an-address')).toBe(false);
  });

  it('throws a TypeError naming a bad entry', () => {
    expect(() => new Allowlist(['10.0.0.0/8', '10.0.0.0/40'])).toThrow(/"10\.0\.0\.0\/40" is not an IPv4 block/);
  });

  it('keeps the blocks it applied, frozen', () => {
    expect(list.blocks.map((b) => `${b.address}/${b.prefix}`)).toEqual(['10.0.0.0/8', '192.168.1.7/32', '2001:db8::/32', '::1/128']);
    expect(Object.isFrozen(list.blocks)).toBe(true);
  });
});
