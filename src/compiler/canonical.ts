/**
 * Canonicalization of paths, hosts, URLs, emails and IPs: done once in TypeScript so that
 * every engine compares the same plain strings. Invalid values canonicalize to `undefined`.
 */
import { posix } from 'node:path';
import { domainToASCII } from 'node:url';
import ipaddr from 'ipaddr.js';

const NEEDS_NORMALIZING = /\/\/|\/\.\.?(?:\/|$)/;

/** A normalized absolute POSIX path, or undefined for a relative path, an empty string or a NUL byte. */
export function canonicalPath(value: string): string | undefined {
  if (!value.startsWith('/') || value.includes('\0')) return undefined;
  // Already normal (no empty, '.' or '..' segment): normalize would return it unchanged.
  return NEEDS_NORMALIZING.test(value) ? posix.normalize(value) : value;
}

const HOST_FORBIDDEN = /[\s/\\?#@:%\0]/;

/** A lower-cased ASCII host without a trailing dot, or undefined if it is not a host name or IP. */
export function canonicalHost(value: string): string | undefined {
  if (value.length === 0 || value.length > 253 + 1) return undefined;
  const bracketed = value.startsWith('[') && value.endsWith(']');
  if (!bracketed && HOST_FORBIDDEN.test(value)) return undefined;
  let host: string;
  try {
    host = new URL(`http://${value}/`).hostname;
  } catch {
    return undefined;
  }
  return stripTrailingDot(host);
}

function stripTrailingDot(host: string): string | undefined {
  const stripped = host.endsWith('.') ? host.slice(0, -1) : host;
  return stripped.length > 0 && !stripped.endsWith('.') ? stripped : undefined;
}

/** The parts of a canonical URL that conditions may test. */
export interface CanonicalUrl {
  href: string;
  host?: string;
  scheme: string;
  port?: number;
  path: string;
}

const DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443, ws: 80, wss: 443, ftp: 21 };

/** A WHATWG-parsed URL with its host canonicalized, or undefined if it does not parse. */
export function canonicalUrl(value: string): CanonicalUrl | undefined {
  if (value.includes('\0')) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  const scheme = url.protocol.replace(/:$/, '');
  const result: CanonicalUrl = { href: url.href, scheme, path: url.pathname };
  const host = url.hostname ? stripTrailingDot(url.hostname) : undefined;
  if (host !== undefined) result.host = host;
  const port = url.port ? Number(url.port) : DEFAULT_PORTS[scheme];
  if (port !== undefined) result.port = port;
  return result;
}

/** An email address with its domain canonicalized, or undefined if it has no local part or domain. */
export function canonicalEmail(value: string): { address: string; local: string; domain: string } | undefined {
  const at = value.lastIndexOf('@');
  if (at <= 0 || /[\s\0<>,;]/.test(value)) return undefined;
  const local = value.slice(0, at);
  const domain = canonicalHost(value.slice(at + 1));
  if (domain === undefined) return undefined;
  return { address: `${local}@${domain}`, local, domain };
}

/** An IP address in canonical text and as a family-tagged bit string (`4:0111...`), or undefined. */
export function canonicalIp(value: string): { text: string; bits: string } | undefined {
  const bare = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
  let address: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    address = ipaddr.parse(bare);
  } catch {
    return undefined;
  }
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    address = (address as ipaddr.IPv6).toIPv4Address();
  }
  return { text: address.toString(), bits: bitString(address) };
}

function bitString(address: ipaddr.IPv4 | ipaddr.IPv6): string {
  const family = address.kind() === 'ipv4' ? '4' : '6';
  return `${family}:${address
    .toByteArray()
    .map((b) => b.toString(2).padStart(8, '0'))
    .join('')}`;
}

/** The bit-string prefix of a CIDR range (`10.0.0.0/8` -> `4:00001010`), or undefined if it is not a CIDR. */
export function cidrPrefix(range: string): string | undefined {
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    parsed = ipaddr.parseCIDR(range);
  } catch {
    return undefined;
  }
  let [address, bits] = parsed;
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    address = (address as ipaddr.IPv6).toIPv4Address();
    bits -= 96;
  }
  const full = bitString(address);
  return full.slice(0, 2 + bits);
}

/** A domain glob pattern canonicalized like the hosts it is matched against. */
export function canonicalDomainPattern(pattern: string): string {
  const lowered = pattern.toLowerCase();
  const stripped = lowered.endsWith('.') ? lowered.slice(0, -1) : lowered;
  return stripped
    .split('.')
    .map((label) => (label.includes('*') || /^[\x00-\x7f]*$/.test(label) ? label : domainToASCII(label) || label))
    .join('.');
}

/** Length in Unicode code points, the unit every engine uses. */
export function codePointLength(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}
