/**
 * `clients` loops, each awaiting `step(client, i)` again and again (`i` counts that loop's steps), until stop()
 * resolves, once every loop has finished the step it was in: steady load for tests that change something
 * under it (a reload, a killed worker, a database outage).
 */
export function untilStopped(clients: number, step: (client: number, i: number) => Promise<void>): { stop(): Promise<void> } {
  let running = true;
  const loops = Array.from({ length: clients }, async (_, client) => {
    for (let i = 0; running; i++) await step(client, i);
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}
