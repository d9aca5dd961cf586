/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.(t|j|mj)s$': ['@swc/jest'],
  },
  // dt-sql-parser and its antlr runtime ship ESM with directory imports; let swc turn them into CommonJS.
  transformIgnorePatterns: ['/node_modules/(?!(dt-sql-parser|antlr4ng|antlr4-c3)/)'],
  testTimeout: 60000,
  // Jest's default is one worker per core but one: on a 2-core machine, a single worker, while most
  // suites spend their time waiting on the command's own processes (README: 281 s with 1, 176 s with 2, 134 s with 3).
  maxWorkers: 3,
};
