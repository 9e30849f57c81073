import { slotFor } from './slot';

describe('slotFor', () => {
  const at = (iso: string) => new Date(iso);

  it('is the scheduled time, not the moment of the tick', () => {
    expect(slotFor('0 2 * * *', at('2026-11-28T02:00:00.420Z'))).toEqual(at('2026-11-28T02:00:00.000Z'));
    expect(slotFor('*/15 * * * *', at('2026-11-28T10:31:07Z'))).toEqual(at('2026-11-28T10:30:00Z'));
  });

  it('gives replicas with slightly skewed clocks the same slot', () => {
    const early = slotFor('0 2 * * *', at('2026-11-28T01:59:57Z'));
    const late = slotFor('0 2 * * *', at('2026-11-28T02:00:03Z'));
    expect(early).toEqual(late);
  });

  it('refuses a tick far from any scheduled time', () => {
    expect(() => slotFor('0 2 * * *', at('2026-11-28T12:00:00Z'))).toThrow(/no slot/);
  });
});
