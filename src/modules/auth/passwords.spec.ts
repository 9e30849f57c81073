import { DUMMY_HASH, PasswordHasher } from './passwords';

describe('PasswordHasher', () => {
  const hasher = new PasswordHasher();

  it('burns an unknown email’s time on a hash made with today’s parameters', async () => {
    expect(hasher.needsRehash(DUMMY_HASH)).toBe(false);
    expect(await hasher.verify(DUMMY_HASH, 'kiroku-dummy-password-for-timing')).toBe(true);
    expect(await hasher.verifyDummy('kiroku-dummy-password-for-timing')).toBe(false);
  });
});
