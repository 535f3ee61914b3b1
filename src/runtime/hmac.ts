/** HMAC-SHA256 and SHA-256 digests for the hot path: standard HMAC (RFC 2104) from precomputed key pads and one-shot hashing. */
import * as crypto from 'node:crypto';

const BLOCK = 64;
const DIGEST = 32;
/** Longest message the preallocated buffer takes; longer ones use `createHmac` (same result). */
const MAX_MESSAGE = 8192;

type OneShot = (algorithm: string, data: string | Uint8Array, outputEncoding: string) => string | Buffer;
/** `crypto.hash` (Node >= 20.12): one call, no Hash object. Undefined on older Node. */
const oneShot = (crypto as unknown as { hash?: OneShot }).hash;

/** `sha256:<hex>` of a text (the runtime's hash format), with the one-shot hash when Node has it. */
export function sha256Hex(text: string): string {
  return `sha256:${oneShot ? (oneShot('sha256', text, 'hex') as string) : crypto.createHash('sha256').update(text).digest('hex')}`;
}

/** base64url of the SHA-256 of a text (43 characters). */
export function sha256B64(text: string): string {
  return oneShot ? (oneShot('sha256', text, 'base64url') as string) : crypto.createHash('sha256').update(text).digest('base64url');
}

/**
 * HMAC-SHA256 under one key. The key is padded and XORed with ipad/opad once; each message is
 * then two one-shot SHA-256 calls over `K^ipad || m` and `K^opad || inner`, written into
 * preallocated buffers. The output is byte-identical to `createHmac('sha256', key)`.
 */
export class HmacSha256 {
  readonly #key: Buffer;
  readonly #inner: Buffer;
  readonly #outer: Buffer;

  constructor(key: Uint8Array) {
    this.#key = Buffer.from(key);
    // RFC 2104: keys longer than the block are hashed first; shorter ones are zero-padded.
    const k = Buffer.alloc(BLOCK);
    (this.#key.length > BLOCK ? crypto.createHash('sha256').update(this.#key).digest() : this.#key).copy(k);
    this.#inner = Buffer.alloc(BLOCK + MAX_MESSAGE);
    this.#outer = Buffer.alloc(BLOCK + DIGEST);
    for (let i = 0; i < BLOCK; i++) {
      this.#inner[i] = (k[i] as number) ^ 0x36;
      this.#outer[i] = (k[i] as number) ^ 0x5c;
    }
    k.fill(0);
  }

  /** The MAC of a text's UTF-8 bytes, base64url (43 characters): `createHmac('sha256', key).update(text).digest('base64url')`. */
  macText(text: string): string {
    // Worst case 3 UTF-8 bytes per UTF-16 unit; longer texts take the createHmac path.
    if (!oneShot || text.length * 3 > MAX_MESSAGE) return crypto.createHmac('sha256', this.#key).update(text, 'utf8').digest('base64url');
    const n = this.#inner.write(text, BLOCK, 'utf8');
    const inner = oneShot('sha256', this.#inner.subarray(0, BLOCK + n), 'buffer') as Buffer;
    inner.copy(this.#outer, BLOCK);
    return oneShot('sha256', this.#outer, 'base64url') as string;
  }

  /** The MAC of bytes, as a Buffer (32 bytes). */
  mac(data: Uint8Array): Buffer {
    if (!oneShot || data.length > MAX_MESSAGE) return crypto.createHmac('sha256', this.#key).update(data).digest();
    this.#inner.set(data, BLOCK);
    const inner = oneShot('sha256', this.#inner.subarray(0, BLOCK + data.length), 'buffer') as Buffer;
    inner.copy(this.#outer, BLOCK);
    return oneShot('sha256', this.#outer, 'buffer') as Buffer;
  }
}
