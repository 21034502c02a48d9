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
  /** SQLite's page cache, in KiB (the OS caches the file too). */
  sqliteCacheKiB: z.coerce.number().int().min(0).default(2048),
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
  /**
   * A loaded document with no write for this long (plus 100 ms per KB of state) keeps only its
   * encoded state, not a Y.Doc; the next write rebuilds it. 0 keeps every Y.Doc.
   */
  hibernateAfterMs: z.coerce.number().int().min(0).default(1_000),
  /** A directory served as static files at `/` (the built playground); nothing is served when unset. */
  playgroundDir: z.string().min(1).optional(),
  /** Deadline for a graceful shutdown before the process exits anyway. */
  shutdownTimeoutMs: z.coerce.number().int().min(0).default(10_000),
  limits: z
    .object({
      maxMessageBytes: z.coerce.number().int().min(1024).default(DEFAULT_LIMITS.maxMessageBytes),
      maxAwarenessStateBytes: z.coerce.number().int().min(64).default(DEFAULT_LIMITS.maxAwarenessStateBytes),
      maxDocumentNameLength: z.coerce.number().int().min(1).max(4096).default(defaultDocumentNameRules.maxLength),
      // Security and limits (docs/architecture.md, docs/errors.md). Sizes in bytes, rates per second.
      /** A document whose stored size would pass this refuses further growth (DOCUMENT_TOO_LARGE). */
      maxDocumentBytes: z.coerce.number().int().min(1024).default(64 * 1024 * 1024),
      /** Updates waiting for missing predecessors, per document (Yjs keeps them forever otherwise). */
      maxPendingBytes: z.coerce.number().int().min(1024).default(1024 * 1024),
      /** Token bucket per connection: sustained rate and burst, in messages and in bytes. */
      messagesPerSecond: z.coerce.number().positive().default(500),
      messageBurst: z.coerce.number().int().min(1).default(2_000),
      bytesPerSecond: z.coerce.number().positive().default(8 * 1024 * 1024),
      /** At least maxMessageBytes, or the largest frame could never pass. */
      bytesBurst: z.coerce.number().int().min(1024).default(32 * 1024 * 1024),
      maxConnections: z.coerce.number().int().min(1).default(10_000),
      maxConnectionsPerIp: z.coerce.number().int().min(1).default(256),
      /** Documents loaded at once on this server. */
      maxDocuments: z.coerce.number().int().min(1).default(10_000),
      /** Documents one multiplexed connection may open. */
      maxDocumentsPerConnection: z.coerce.number().int().min(1).default(256),
      /** Multiplexed dialect: what a connection may send before its auth message succeeds. */
      maxPreAuthMessages: z.coerce.number().int().min(1).default(64),
      maxPreAuthBytes: z.coerce.number().int().min(1024).default(1024 * 1024),
      preAuthTimeoutMs: z.coerce.number().int().min(100).default(10_000),
      /** Backpressure: above this many unsent bytes a connection gets no broadcasts until it drains. */
      sendBufferHighWaterBytes: z.coerce.number().int().min(1024).default(4 * 1024 * 1024),
      /** A connection that stays above the high water mark this long is closed (SLOW_CONSUMER). */
      slowConsumerTimeoutMs: z.coerce.number().int().min(100).default(30_000),
    })
    .prefault({})
    .refine((limits) => limits.bytesBurst >= limits.maxMessageBytes, {
      message: 'bytesBurst must be at least maxMessageBytes',
      path: ['bytesBurst'],
    }),
  /**
   * Behind a reverse proxy: count and log connections under the address the proxy appended to
   * X-Forwarded-For, not the proxy's own (see limits/client-address.ts).
   */
  trustProxy: z.preprocess((value) => (value === 'true' || value === '1' ? true : value === 'false' || value === '0' ? false : value), z.boolean()).default(false),
  /** Origins allowed to open WebSockets (exact `scheme://host[:port]`); empty allows any origin. */
  allowedOrigins: z
    .preprocess((value) => (typeof value === 'string' ? value.split(',').map((o) => o.trim()).filter(Boolean) : value), z.array(z.string().min(1)))
    .default([]),
  /**
   * Token verification (server/src/auth). Give one of secret, jwksFile, publicKeyFile; with none,
   * authentication is off and the server says so at start. `disabled` makes that explicit.
   */
  auth: z
    .object({
      secret: z.string().min(16, 'auth secret must be at least 16 characters').optional(),
      jwksFile: z.string().min(1).optional(),
      publicKeyFile: z.string().min(1).optional(),
      /** Allowed clock skew when checking exp/nbf. */
      clockToleranceSeconds: z.coerce.number().int().min(0).max(300).default(5),
      disabled: z.boolean().default(false),
    })
    .prefault({})
    .refine((auth) => [auth.secret, auth.jwksFile, auth.publicKeyFile].filter((k) => k !== undefined).length <= 1, {
      message: 'give at most one of auth secret, JWKS file, public key file',
    })
    .refine((auth) => !auth.disabled || (auth.secret === undefined && auth.jwksFile === undefined && auth.publicKeyFile === undefined), {
      message: '--no-auth contradicts the auth key given',
    }),
})

export type ServerConfig = z.infer<typeof configSchema>
export type ServerConfigInput = z.input<typeof configSchema>

/** One invalid setting: its key (`limits.maxPendingBytes`, or `(root)`) and what is wrong with it. */
export interface ConfigProblem {
  readonly key: string
  readonly message: string
}

export class ConfigError extends Error {
  constructor(readonly issues: readonly ConfigProblem[]) {
    super(describeProblems(issues, (key) => key))
    this.name = 'ConfigError'
  }

  /** Each problem as `key: message`. */
  get problems(): string[] {
    return this.issues.map((issue) => `${issue.key}: ${issue.message}`)
  }

  /** The message, with each key named as `nameOf` says (the CLI names flags and variables). */
  describe(nameOf: (key: string) => string): string {
    return describeProblems(this.issues, nameOf)
  }
}

const describeProblems = (issues: readonly ConfigProblem[], nameOf: (key: string) => string): string =>
  `invalid configuration:\n${issues.map((issue) => `  - ${nameOf(issue.key)}: ${issue.message}`).join('\n')}`

export const parseConfig = (input: ServerConfigInput = {}): ServerConfig => {
  const result = configSchema.safeParse(input)
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => ({ key: issue.path.join('.') || '(root)', message: issue.message })))
  }
  return result.data
}
