import { Counter, Gauge, Registry } from 'prom-client';
import { guardedCollect } from './collect';

describe('guardedCollect', () => {
  it('leaves a gauge that cannot be read out of the scrape and counts it, instead of failing the scrape', async () => {
    const registry = new Registry();
    const errors = new Counter({ name: 'errors_total', help: 'h', registers: [registry] });
    let down = false;
    new Gauge({
      name: 'from_db',
      help: 'h',
      labelNames: ['destination'],
      registers: [registry],
      collect: guardedCollect(errors, async (g) => {
        if (down) throw new Error('connection refused');
        g.set({ destination: 'local' }, 42);
      }),
    });
    new Gauge({
      name: 'local',
      help: 'h',
      registers: [registry],
      collect() {
        this.set(7);
      },
    });
    expect(await registry.metrics()).toMatch(/^from_db\{destination="local"\} 42$/m);
    down = true;
    const text = await registry.metrics();
    expect(text).not.toMatch(/^from_db\{/m);
    expect(text).toMatch(/^local 7$/m);
    expect(await registry.metrics()).toMatch(/^errors_total [12]$/m);
  });
});
