import { workerExecArgv } from './primary';

describe('workerExecArgv', () => {
  it("gives a worker the primary's flags and a young generation of at most 3 × 8 MiB", () => {
    expect(workerExecArgv(['--enable-source-maps'])).toEqual(['--enable-source-maps', '--max-semi-space-size=8']);
    expect(workerExecArgv([], undefined)).toEqual(['--max-semi-space-size=8']);
  });

  it.each([
    ['on the command line', ['--max-semi-space-size=32'], ''],
    ['in NODE_OPTIONS', [], '--enable-source-maps --max-semi-space-size=2'],
    ['in NODE_OPTIONS, written with underscores', [], '--max_semi_space_size=4'],
  ])("keeps the operator's own choice %s", (_, execArgv, nodeOptions) => {
    expect(workerExecArgv(execArgv, nodeOptions)).toEqual(execArgv);
  });
});
