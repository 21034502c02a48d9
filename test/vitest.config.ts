import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  // Paths below are relative to the repository root.
  root: fileURLToPath(new URL('..', import.meta.url)),
  resolve: {
    // Workspace packages export their TypeScript sources under the "@tandem/source" condition, so tests
    // run against src/ without a build.
    conditions: ['@tandem/source'],
  },
  ssr: { resolve: { conditions: ['@tandem/source'] } },
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
