import { Database } from '@kiroku/persistence';
import { ApiToken, Session, User } from '../src/modules/auth';
import { describeEachEngine, freshDatabase } from './support/engines';
import { startTestApp } from './support/test-app';
import { WebClient } from './support/web-client';

describeEachEngine('security logging', (engine) => {
  it('logs security events as JSON with UTC time, user, IP and request id, and never a secret', async () => {
    const t = await startTestApp(await freshDatabase(engine));
    try {
      const secrets = new Set<string>();
      const passwords = ['first passphrase here', 'second passphrase here', 'wrong guess here!'];
      passwords.forEach((p) => secrets.add(p));
      const c = new WebClient(t.url);
      await c.signup('alice@example.com', passwords[0]);
      await new WebClient(t.url).login('alice@example.com', passwords[2]);
      await c.get('/account');
      secrets.add(c.lastCsrf!);
      await c.submit('/account/password', { currentPassword: passwords[0], newPassword: passwords[1] });
      await c.get('/account');
      await c.submit('/account/tokens', { name: 'script' });
      const token = /id="new-token">([^<]+)</.exec((await c.get('/account')).text)![1];
      secrets.add(token);
      await fetch(`${t.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
      await fetch(`${t.url}/api/v1/me`, { headers: { authorization: 'Bearer krk_000000000000_notavalidtokennotavalidtokennotavalidtok' } });
      for (const value of c.cookies.values()) secrets.add(value);
      await c.get('/account');
      secrets.add(c.lastCsrf!);
      await c.logout();
      await c.request('POST', '/login', { form: { _csrf: 'forged-token-value-1234567890', email: 'a@b.c', password: 'x' } });

      const db = t.app.get(Database);
      for (const u of await db.manager.find(User)) secrets.add(u.passwordHash);
      for (const k of await db.manager.find(ApiToken)) secrets.add(k.tokenHash);
      for (const s of await db.manager.find(Session)) secrets.add(s.idHash);

      const log = t.logs.lines.map((l) => JSON.stringify(l)).join('\n');
      for (const secret of secrets) expect({ secret, found: log.includes(secret) }).toEqual({ secret, found: false });

      const events = t.logs.lines.filter((l) => l.stream === 'security');
      const types = events.map((e) => e.event);
      expect(types).toEqual(
        expect.arrayContaining(['account.created', 'login.failure', 'password.changed', 'token.created', 'token.rejected', 'logout', 'csrf.refused']),
      );
      const login = events.find((e) => e.event === 'login.failure')!;
      expect(login).toMatchObject({
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        ip: '127.0.0.1',
        reqId: expect.any(String),
        level: 'info',
      });
      const changed = events.find((e) => e.event === 'password.changed')!;
      expect(changed.userId).toEqual(expect.stringMatching(/^[0-9a-f-]{36}$/));
    } finally {
      await t.close();
    }
  });
});
