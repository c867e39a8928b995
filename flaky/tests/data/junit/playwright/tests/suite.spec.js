// A suite with a stable, a pass-on-retry and an always-failing test. None uses the `page`
// fixture, so no browser is needed. The pass-on-retry test fails on its first attempt
// (testInfo.retry is 0) and passes on its retry.
const { test, expect } = require('@playwright/test');

test.describe('checkout', () => {
  test('stable', async () => {
    expect(1 + 1).toBe(2);
  });

  test('passes on retry', async ({}, testInfo) => {
    expect(testInfo.retry, 'first attempt fails').toBeGreaterThan(0);
  });

  test('always fails', async () => {
    expect('this test always fails').toBe('passing');
  });
});
