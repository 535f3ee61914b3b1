import { posix } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalEmail, canonicalHost, canonicalIp, canonicalPath, canonicalUrl, cidrPrefix } from '../../src/compiler/canonical.js';

describe('canonicalization', () => {
  it('the path fast path agrees with posix.normalize on every absolute path', () => {
    const segment = fc.constantFrom('', '.', '..', 'a', 'b.c', '...', '.a', 'a.', '%2e', 'ü');
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 8 }), fc.boolean(), (segments, trailing) => {
        const path = `/${segments.join('/')}${trailing ? '/' : ''}`;
        expect(canonicalPath(path)).toBe(posix.normalize(path));
      }),
      { numRuns: 2000, seed: 3 },
    );
  });
  it('relative paths, empty strings and NUL bytes have no canonical form', () => {
    expect(canonicalPath('a/b')).toBeUndefined();
    expect(canonicalPath('')).toBeUndefined();
    expect(canonicalPath('/a\u0000b')).toBeUndefined();
  });
  it('hosts: lower case, no trailing dot, IDNA, numeric IPv4 forms resolved, junk refused', () => {
    expect(canonicalHost('Example.COM.')).toBe('example.com');
    expect(canonicalHost('bücher.de')).toBe('xn--bcher-kva.de');
    expect(canonicalHost('0x7f.1')).toBe('127.0.0.1');
    for (const bad of ['', 'a b', 'a/b', 'user@host', 'host:80', 'a..', '.']) expect(canonicalHost(bad), bad).toBeUndefined();
  });
  it('urls: WHATWG parsing, host canonical, default ports, dot segments resolved', () => {
    expect(canonicalUrl('HTTPS://A.Example.COM.:443/x/../y?q')).toMatchObject({ scheme: 'https', host: 'a.example.com', port: 443, path: '/y' });
    expect(canonicalUrl('https://good.com@evil.io/')?.host).toBe('evil.io');
    expect(canonicalUrl('nope')).toBeUndefined();
  });
  it('emails split at the last @ and canonicalize the domain', () => {
    expect(canonicalEmail('Bob@Mail.Example.COM')).toEqual({ address: 'Bob@mail.example.com', local: 'Bob', domain: 'mail.example.com' });
    expect(canonicalEmail('a@b@evil.io')?.domain).toBe('evil.io');
    expect(canonicalEmail('@x.io')).toBeUndefined();
  });
  it('IPs and CIDRs become comparable bit strings; IPv4-mapped IPv6 counts as IPv4', () => {
    expect(canonicalIp('::ffff:10.0.0.1')).toEqual(canonicalIp('10.0.0.1'));
    expect(canonicalIp('10.0.0.1')?.bits.startsWith(cidrPrefix('10.0.0.0/8') as string)).toBe(true);
    expect(canonicalIp('11.0.0.1')?.bits.startsWith(cidrPrefix('10.0.0.0/8') as string)).toBe(false);
    expect(cidrPrefix('10.0.0.0/33')).toBeUndefined();
  });
});
