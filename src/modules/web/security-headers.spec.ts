import { nonceSource } from './security-headers';

describe('CSP nonces', () => {
  it('are 128-bit base64 values, never repeated, across many pool refills', () => {
    const next = nonceSource();
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const nonce = next();
      expect(Buffer.from(nonce, 'base64')).toHaveLength(16);
      seen.add(nonce);
    }
    expect(seen.size).toBe(5000);
  });

  it('differ between sources (each process and app draws its own)', () => {
    expect(nonceSource()()).not.toBe(nonceSource()());
  });
});
