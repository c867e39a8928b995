// JUNIT_RETRIES=1 turns on the junit reporter's includeRetries; PROJECTS=2 runs the suite
// under two projects.
const { defineConfig } = require('@playwright/test');

module.exports = defineConfig({
  testDir: './tests',
  retries: 1,
  workers: 1,
  reporter: [
    ['list'],
    ['junit', { outputFile: process.env.JUNIT_FILE, includeRetries: process.env.JUNIT_RETRIES === '1' }],
  ],
  projects: process.env.PROJECTS === '2'
    ? [{ name: 'desktop' }, { name: 'mobile' }]
    : [{ name: 'default' }],
});
