import { z } from 'zod'
import { DEFAULT_LIMITS, defaultDocumentNameRules } from '@tandem/protocol'

/**
 * The one typed configuration of a Tandem server. The CLI fills it from flags, then environment,
 * then these defaults; `parseConfig` validates everything at once and names every problem.
 */
export const configSchema = z.object({
  host: z.string().min(1).default('localhost'),
  port: z.coerce.number().int().min(0).max(65535).default(1234),
  /** `sqlite` (durable, the default) or `memory` (nothing survives a restart: tests, benchmarks). */
  storage: z.enum(['sqlite', 'memory']).default('sqlite'),
  /** Directory of the embedded SQLite store. */
  dataDir: z.string().min(1).default('./data'),
  /** How hard each group commit is pushed to disk before it is acknowledged. */
  durability: z.enum(['full', 'normal', 'off']).default('full'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Path of the multiplexed (Hocuspocus-compatible) endpoint; every other path is a y-websocket document. */
  multiplexPath: z.string().startsWith('/').default('/'),
  /** Ping every connection this often; one without a pong by the next round is terminated. */
  heartbeatMs: z.coerce.number().int().min(100).max(30_000).default(15_000),
  /** A room with no connection is unloaded after this long (once everything is stored). */
  roomIdleMs: z.coerce.number().int().min(0).default(10_000),
  /** Fold a document's update log into a snapshot once it holds this many updates. */
  compactAfterUpdates: z.coerce.number().int().min(1).default(500),
  /** Awareness states not renewed for this long are removed (clients renew every 15 s). */
  awarenessTimeoutMs: z.coerce.number().int().min(1_000).default(30_000),
  /** Deadline for a graceful shutdown before the process exits anyway. */
  shutdownTimeoutMs: z.coerce.number().int().min(0).default(10_000),
  limits: z
    .object({
      maxMessageBytes: z.coerce.number().int().min(1024).default(DEFAULT_LIMITS.maxMessageBytes),
      maxAwarenessStateBytes: z.coerce.number().int().min(64).default(DEFAULT_LIMITS.maxAwarenessStateBytes),
      maxDocumentNameLength: z.coerce.number().int().min(1).max(4096).default(defaultDocumentNameRules.maxLength),
    })
    .prefault({}),
})

export type ServerConfig = z.infer<typeof configSchema>
export type ServerConfigInput = z.input<typeof configSchema>

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

export const parseConfig = (input: ServerConfigInput = {}): ServerConfig => {
  const result = configSchema.safeParse(input)
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`))
  }
  return result.data
}
