import { redactSecrets } from './redact';

describe('redactSecrets', () => {
  it('returns a line without secrets as the very same object (no copying on the hot path)', () => {
    const line = { stream: 'access', method: 'GET', status: 200, nested: { a: [1, { b: 2 }] } };
    expect(redactSecrets(line)).toBe(line);
  });

  it('replaces secret-named fields at any depth, in any case, without touching what the caller holds', () => {
    const caller = { body: { Password: 'p1', list: [{ token: 't1' }, 'plain'] }, headers: { authorization: 'Bearer x', 'set-cookie': ['sid=1'] }, ok: 'kept' };
    const out = redactSecrets(caller);
    expect(out).toEqual({
      body: { Password: '[redacted]', list: [{ token: '[redacted]' }, 'plain'] },
      headers: { authorization: '[redacted]', 'set-cookie': '[redacted]' },
      ok: 'kept',
    });
    expect(caller.body.Password).toBe('p1');
    expect(caller.headers.authorization).toBe('Bearer x');
  });

  it('keeps an error an error (message, stack, class) while hiding its query parameters', () => {
    class QueryFailedError extends Error {}
    const error = Object.assign(new QueryFailedError('insert failed'), { query: 'INSERT …', parameters: ['session-hash'] });
    const { err } = redactSecrets({ err: error });
    expect(err).toBeInstanceOf(QueryFailedError);
    expect(err).toMatchObject({ message: 'insert failed', stack: error.stack, query: 'INSERT …', parameters: '[redacted]' });
    expect(error.parameters).toEqual(['session-hash']);
  });
});
