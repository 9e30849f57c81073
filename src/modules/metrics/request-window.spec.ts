import { RequestWindow, summarizeWindows } from './request-window';

describe('RequestWindow', () => {
  it('counts requests and 5xx responses, and starts over after take()', () => {
    const w = new RequestWindow();
    for (const status of [200, 201, 404, 500, 503]) w.record(status, 0.01);
    expect(w.take()).toMatchObject({ requests: 5, errors: 2 });
    expect(w.take()).toEqual({ requests: 0, errors: 0, p95Us: null });
  });

  it('gives the 95th percentile within one bucket (about 9%) of the true value', () => {
    const w = new RequestWindow();
    // 1..1000 ms: the true p95 is 950 ms.
    for (let ms = 1; ms <= 1000; ms++) w.record(200, ms / 1000);
    const { p95Us } = w.take();
    expect(p95Us).toBeGreaterThanOrEqual(950_000);
    expect(p95Us).toBeLessThanOrEqual(950_000 * 1.1);
  });

  it('is not fooled by a few slow requests among many fast ones', () => {
    const w = new RequestWindow();
    for (let i = 0; i < 97; i++) w.record(200, 0.002);
    for (let i = 0; i < 3; i++) w.record(200, 5);
    const { p95Us } = w.take();
    expect(p95Us).toBeGreaterThanOrEqual(2000);
    expect(p95Us).toBeLessThan(2300);
  });

  it("adds up several workers' periods as one: counts sum, and p95 is the machine's, not any one worker's", () => {
    const fast = new RequestWindow();
    const slow = new RequestWindow();
    for (let i = 0; i < 90; i++) fast.record(200, 0.002);
    for (let i = 0; i < 10; i++) slow.record(i < 4 ? 500 : 200, 1);
    const machine = summarizeWindows([fast.takeCounts(), slow.takeCounts()]);
    expect(machine).toMatchObject({ requests: 100, errors: 4 });
    // 10% of the machine's requests took 1 s: its p95 is there, although 90% of the worker periods were fast.
    expect(machine.p95Us).toBeGreaterThanOrEqual(1_000_000);
    expect(machine.p95Us).toBeLessThanOrEqual(1_100_000);
    expect(summarizeWindows([fast.takeCounts(), slow.takeCounts()])).toEqual({ requests: 0, errors: 0, p95Us: null });
  });
});
