// The page computes image capabilities with its own synchronous SHA-256 (renderer/src/api/capability.ts);
// the server with node:crypto (electron/transport/server.ts). They must agree bit for bit.
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hmacSha256, imageCapability, imageKeyOf, sha256 } from '../renderer/src/api/capability.ts';
import { generateToken, imageCapability as serverCapability } from '../electron/transport/server.ts';

describe('image capabilities', () => {
  it('SHA-256 and HMAC-SHA256 match node:crypto at every length around the block boundaries', () => {
    for (let n = 0; n < 300; n++) {
      const data = crypto.randomBytes(n);
      expect(Buffer.from(sha256(data)).toString('hex'), `length ${n}`).toBe(crypto.createHash('sha256').update(data).digest('hex'));
      const key = crypto.randomBytes(n % 150);
      expect(Buffer.from(hmacSha256(key, data)).toString('hex')).toBe(crypto.createHmac('sha256', key).update(data).digest('hex'));
    }
  });

  it('the page and the server derive the same capability, different per photo and kind, not containing the token', () => {
    const token = generateToken();
    const key = imageKeyOf(token);
    const caps = new Set<string>();
    for (const id of [1, 2, 99, 123456789]) {
      for (const kind of ['thumb', 'image'] as const) {
        const cap = imageCapability(key, kind, id);
        expect(cap).toBe(serverCapability(token, kind, String(id)));
        expect(cap).not.toContain(token);
        caps.add(cap);
      }
    }
    expect(caps.size).toBe(8);
  });
});
