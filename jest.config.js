/** Two tiers: `unit` (pure logic and real SQLite files) and `e2e` (the running stack). */
const moduleNameMapper = {
  '^@executor/(contracts|event-store|common|sdk)$': '<rootDir>/libs/$1/src',
  '^@executor/(contracts|event-store|common|sdk)/(.*)$': '<rootDir>/libs/$1/src/$2',
};
const transform = { '^.+\\.ts$': ['ts-jest', {}] };

module.exports = {
  testTimeout: 120000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      rootDir: __dirname,
      roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/scripts'],
      testMatch: ['**/*.spec.ts'],
      moduleFileExtensions: ['ts', 'js', 'json'],
      transform,
      moduleNameMapper,
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      rootDir: __dirname,
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.e2e-spec.ts'],
      moduleFileExtensions: ['ts', 'js', 'json'],
      transform,
      // e2b's one ESM-only dependency (log colours): see test/e2e/support/chalk.js.
      moduleNameMapper: { ...moduleNameMapper, '^chalk$': '<rootDir>/test/e2e/support/chalk.js' },
      globalSetup: '<rootDir>/test/e2e/global-setup.ts',
      globalTeardown: '<rootDir>/test/e2e/global-teardown.ts',
    },
  ],
};
