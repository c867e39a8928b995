// A suite with a stable, a pass-on-retry and an always-failing test. The pass-on-retry test
// fails while the marker file named by FLAKY_MARKER does not exist and creates it, so it
// fails on its first attempt and passes on its retry.
const fs = require('fs');

jest.retryTimes(1);

describe('cart', () => {
  test('stable', () => {
    expect(1 + 1).toBe(2);
  });

  test('passes on retry', () => {
    const marker = process.env.FLAKY_MARKER;
    if (!fs.existsSync(marker)) {
      fs.writeFileSync(marker, '');
      throw new Error('first attempt fails');
    }
  });

  test('always fails', () => {
    expect('this test always fails').toBe('passing');
  });
});
