import { catalogKeys, formatInstant, translate } from './i18n';
import CATALOG_EN from './i18n/en.json';

describe('formatInstant', () => {
  const at = Date.UTC(2026, 10, 29, 7, 5, 0);

  it("writes an instant in the reader's language and zone, to the minute", () => {
    expect(formatInstant(at, 'en', 'UTC')).toBe('29 Nov 2026, 07:05');
    expect(formatInstant(new Date(at), 'en', 'Asia/Tokyo')).toBe('29 Nov 2026, 16:05');
    expect(formatInstant(at, 'ja', 'Asia/Tokyo')).toBe('2026/11/29 16:05');
    expect(formatInstant(null, 'en', 'UTC')).toBe('');
  });

  it("follows a zone's offsets that have seconds (New York before 1883: -4:56:02)", () => {
    const lmt = Date.UTC(1880, 0, 1, 0, 0, 0);
    expect(formatInstant(lmt, 'en', 'America/New_York')).toBe('31 Dec 1879, 19:03');
    expect(formatInstant(lmt + 30_000, 'en', 'America/New_York')).toBe('31 Dec 1879, 19:04');
  });

  it('gives every instant of a minute the same text and the next minute its own, whatever it remembered', () => {
    for (let i = 0; i < 5_100; i++) formatInstant(at + i * 60_000, 'en', 'Europe/Paris'); // past what it keeps
    expect(formatInstant(at + 59_999, 'en', 'Europe/Paris')).toBe('29 Nov 2026, 08:05');
    expect(formatInstant(at + 60_000, 'en', 'Europe/Paris')).toBe('29 Nov 2026, 08:06');
    expect(formatInstant(at - 1, 'en', 'Europe/Paris')).toBe('29 Nov 2026, 08:04');
    expect(formatInstant(-1, 'en', 'UTC')).toBe('31 Dec 1969, 23:59');
  });
});

describe('translate: counts', () => {
  it('chooses the plural form by the language’s rules, and formats the count', () => {
    expect(translate('en', 'login.throttled', [1])).toBe('Too many attempts. Try again in 1 second.');
    expect(translate('en', 'login.throttled', [2])).toBe('Too many attempts. Try again in 2 seconds.');
    expect(translate('en', 'login.throttled', [0])).toBe('Too many attempts. Try again in 0 seconds.');
    expect(translate('en', 'admin.alerts.attempts', [1200])).toBe('1,200 attempts');
    expect(translate('ja', 'login.throttled', [1])).toBe('試行回数が多すぎます。1秒後にもう一度お試しください。');
  });

  it('writes no English count that cannot agree with its number ("{0} seconds", "attempt(s)")', () => {
    const bad = catalogKeys('en').filter((key) => {
      const text = (CATALOG_EN as Record<string, string>)[key];
      return /\w\(s\)|\{\d\} (seconds|minutes|hours|days|notes|attempts|workers|items|versions|revisions|tags|times|users|sessions|tokens)\b/.test(text);
    });
    expect(bad).toEqual([]);
  });
});
