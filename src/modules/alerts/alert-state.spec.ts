import { AlertState, step, Timing } from './alert-state';

const t: Timing = { pendingMs: 5 * 60_000, recoveryMs: 5 * 60_000, reminderMs: 4 * 3_600_000 };
const MIN = 60_000;

/** Feeds the condition minute by minute (a fake clock), collecting notifications with their minute. */
function run(conditions: boolean[], timing = t): { state: AlertState | null; sent: Array<[number, string]> } {
  let state: AlertState | null = null;
  const sent: Array<[number, string]> = [];
  conditions.forEach((holds, minute) => {
    const { next, notify } = step(state, holds, minute * MIN, timing);
    state = next;
    if (notify) sent.push([minute, notify]);
  });
  return { state, sent };
}
const minutes = (n: number, holds: boolean) => Array<boolean>(n).fill(holds);

describe('alert state machine', () => {
  it('fires once the condition has held for the pending period, and notifies once', () => {
    const { state, sent } = run(minutes(30, true));
    expect(sent).toEqual([[5, 'firing']]);
    expect(state).toMatchObject({ status: 'firing', pendingSince: 0, firedAt: 5 * MIN });
  });

  it('does not fire on a single bad sample, nor on a condition shorter than the pending period', () => {
    expect(run([false, true, false, false]).sent).toEqual([]);
    expect(run([...minutes(4, true), false, ...minutes(4, true), false]).sent).toEqual([]);
    expect(run([true, false]).state).toBeNull();
  });

  it('reminds at the reminder interval while it stays firing', () => {
    const { sent } = run(minutes(5 + 8 * 60 + 1, true));
    expect(sent).toEqual([
      [5, 'firing'],
      [5 + 240, 'reminder'],
      [5 + 480, 'reminder'],
    ]);
  });

  it('resolves once the condition has been clear for the recovery period, and says so once', () => {
    const { state, sent } = run([...minutes(10, true), ...minutes(20, false)]);
    expect(sent).toEqual([
      [5, 'firing'],
      [15, 'resolved'],
    ]);
    expect(state).toMatchObject({ status: 'resolved', clearSince: 10 * MIN, resolvedAt: 15 * MIN });
  });

  it('does not flap: a condition that comes back during recovery keeps the alert firing without a new notice', () => {
    const flapping = [...minutes(10, true), false, false, true, false, false, false, true, ...minutes(6, false)];
    const { sent } = run(flapping);
    expect(sent).toEqual([
      [5, 'firing'],
      [22, 'resolved'],
    ]);
  });

  it('fires again, as a new occurrence, after it has resolved', () => {
    const { sent } = run([...minutes(6, true), ...minutes(6, false), ...minutes(6, true)]);
    expect(sent).toEqual([
      [5, 'firing'],
      [11, 'resolved'],
      [17, 'firing'],
    ]);
  });

  it('with zero pending and recovery periods, fires and resolves on the first sample', () => {
    const { sent } = run([true, false], { ...t, pendingMs: 0, recoveryMs: 0 });
    expect(sent).toEqual([
      [0, 'firing'],
      [1, 'resolved'],
    ]);
  });
});
