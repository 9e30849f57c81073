// Prints one plain closing line, "tests: N passed, N failed, N skipped", as the very last output of the run,
// so that any reader (CI included) can tell how many tests ran without knowing jest's format.
const { writeSync } = require('node:fs');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped\n`;
    const none = results.numTotalTests === 0 ? 'no test ran\n' : '';
    // After jest's own summary, which it prints once every reporter has finished.
    process.once('exit', () => writeSync(1, `\n${line}${none}`));
  }
}
module.exports = SummaryReporter;
