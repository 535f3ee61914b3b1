/** Signed bundles verified with pinned key ids and algorithms: every way to break a signature is refused with a typed error. */
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { readTarGz, writeTarGz } from '../../src/adapters/opa/index.js';
import { distributionBundle, openBundle, type VerificationKeys, BundleVerifier } from '../../src/distribution/index.js';
import { compiled, rsaKeys, scopedVariant } from './helpers.js';

const keys = rsaKeys();
const other = rsaKeys();
const source = scopedVariant('2.0.0');
const policy = compiled(source);
const pinned: VerificationKeys = { k1: { key: keys.publicKey, algorithm: 'RS256' } };

async function signed(options: { key?: string; kid?: string; alg?: 'RS256' | 'RS512' | 'HS256' } = {}): Promise<Buffer> {
  return distributionBundle(policy, source, { key: options.key ?? keys.privateKey, algorithm: options.alg ?? 'RS256', keyId: options.kid ?? 'k1' });
}

async function edit(bundle: Buffer, change: (files: Map<string, Buffer>) => void): Promise<Buffer> {
  const files = await readTarGz(bundle);
  change(files);
  return writeTarGz([...files].map(([path, content]) => ({ path, content })));
}

async function refusal(bytes: Buffer, verification: VerificationKeys = pinned): Promise<{ code: string; message: string }> {
  try {
    await openBundle(bytes, 'test', new BundleVerifier(verification));
  } catch (error) {
    const e = error as { code: string; message: string };
    return { code: e.code, message: e.message };
  }
  throw new Error('the bundle was accepted');
}

describe('signed bundle verification', () => {
  it('accepts a bundle signed by the pinned key id with the pinned algorithm, and says which key signed', async () => {
    const opened = await openBundle(await signed(), 'test', new BundleVerifier(pinned));
    expect(opened).toMatchObject({ signedBy: 'k1' });
    expect(opened.policy.hash).toBe(policy.hash);
    const hs = await openBundle(await signed({ key: 'a-shared-secret-of-some-length', alg: 'HS256', kid: 'shared' }), 'test', new BundleVerifier({ shared: { key: 'a-shared-secret-of-some-length', algorithm: 'HS256' } }));
    expect(hs.signedBy).toBe('shared');
  });

  it.each([
    ['unsigned', async () => distributionBundle(policy, source), /not signed/],
    ['unknown key id', async () => signed({ kid: 'k2' }), /key 'k2', which is not a pinned/],
    ['pinned key id, another key', async () => signed({ key: other.privateKey }), /does not verify with key 'k1'/],
    ['pinned key, another algorithm', async () => signed({ alg: 'RS512' }), /pinned to RS256; the bundle is signed with RS512/],
    ['a file changed after signing', async () => edit(await signed(), (f) => f.set('ape/scoped_access/policy.ape', Buffer.from(scopedVariant('9.0.0', '/')))), /policy\.ape does not match its signed hash/],
    ['the Rego changed after signing', async () => edit(await signed(), (f) => f.set('ape/scoped_access/policy.rego', Buffer.from('package ape.scoped_access\n'))), /policy\.rego does not match/],
    ['a file added after signing', async () => edit(await signed(), (f) => f.set('ape/scoped_access/extra.rego', Buffer.from('package ape.scoped_access\n'))), /extra\.rego is not covered/],
    ['a file removed after signing', async () => edit(await signed(), (f) => f.delete('data.json')), /signed file data\.json is missing/],
    ['two signatures', async () => edit(await signed(), (f) => f.set('.signatures.json', Buffer.from(JSON.stringify({ signatures: ['a.b.c', 'd.e.f'] })))), /exactly one signature/],
    ['signatures file not JSON', async () => edit(await signed(), (f) => f.set('.signatures.json', Buffer.from('{'))), /not JSON/],
  ])('refuses %s (APE_BUNDLE_SIGNATURE)', async (_label, make, message) => {
    const r = await refusal(await make());
    expect(r.code).toBe('APE_BUNDLE_SIGNATURE');
    expect(r.message).toMatch(message);
  });

  it("refuses alg 'none' and an HMAC signature made with the RSA public key as secret (algorithm confusion)", async () => {
    const files = await readTarGz(await signed());
    const header = Buffer.from(JSON.stringify({ alg: 'none', kid: 'k1' })).toString('base64url');
    const jwt = (JSON.parse((files.get('.signatures.json') as Buffer).toString('utf8')) as { signatures: string[] }).signatures[0] as string;
    const payload = jwt.split('.')[1] as string;
    const none = await edit(await signed(), (f) => f.set('.signatures.json', Buffer.from(JSON.stringify({ signatures: [`${header}.${payload}.`] }))));
    expect((await refusal(none)).code).toBe('APE_BUNDLE_SIGNATURE');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const confused = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(Buffer.from(keys.publicKey));
    const hs = await edit(await signed(), (f) => f.set('.signatures.json', Buffer.from(JSON.stringify({ signatures: [confused] }))));
    expect(await refusal(hs)).toMatchObject({ code: 'APE_BUNDLE_SIGNATURE', message: expect.stringMatching(/pinned to RS256; the bundle is signed with HS256/) });
  });

  it('refuses bad verification options with a typed error', () => {
    expect(() => new BundleVerifier({})).toThrow(expect.objectContaining({ code: 'APE_DISTRIBUTION_OPTION' }));
    expect(() => new BundleVerifier({ k: { key: 'not a pem', algorithm: 'RS256' } })).toThrow(expect.objectContaining({ code: 'APE_DISTRIBUTION_OPTION' }));
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    expect(() => new BundleVerifier({ k: { key: ec.publicKey, algorithm: 'ES256' } })).not.toThrow();
  });
});
