export default async function globalTeardown(): Promise<void> {
  await globalThis.__KIROKU_PG__?.destroy();
}
