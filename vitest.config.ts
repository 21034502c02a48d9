import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: {
    // Workspace packages export their TypeScript sources under the "source" condition, so tests
    // run against src/ without a build.
    conditions: ['source'],
  },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'server/src/**/*.test.ts',
      'client/src/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // .ci/run asks for a JSON report too, to print a plain "N passed, N failed" closing line.
    ...(process.env.TANDEM_TEST_REPORT
      ? { reporters: ['default', 'json'], outputFile: { json: process.env.TANDEM_TEST_REPORT } }
      : {}),
  },
})
