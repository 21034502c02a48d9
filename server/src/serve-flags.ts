import { Option, type Command } from 'commander'
import type { ConfigError, ServerConfigInput } from './config.js'

type TopKey = Exclude<keyof ServerConfigInput, 'limits' | 'auth'>
type LimitsKey = keyof NonNullable<ServerConfigInput['limits']>
/** `disabled` is `--no-auth`, outside the table. */
type AuthKey = Exclude<keyof NonNullable<ServerConfigInput['auth']>, 'disabled'>

/** One `tandem serve` flag: its environment variable and the configuration key it sets. */
export type ServeFlag = {
  /** Commander's syntax: `--room-idle-ms <ms>`. */
  readonly flags: string
  readonly env: string
  readonly description: string
} & ({ readonly key: TopKey; readonly section?: undefined } | { readonly key: LimitsKey; readonly section: 'limits' } | { readonly key: AuthKey; readonly section: 'auth' })

/**
 * Every configuration key has a flag and an environment variable (serve-flags.test.ts walks the
 * schema to hold that, and holds README's table to this list), so an operator never has to patch
 * code to set one. `--no-auth` is the only flag outside the table: it has no environment variable.
 */
export const SERVE_FLAGS: readonly ServeFlag[] = [
  { flags: '--host <host>', env: 'HOST', key: 'host', description: 'interface to listen on' },
  { flags: '-p, --port <port>', env: 'PORT', key: 'port', description: 'port to listen on (0 picks a free one)' },
  { flags: '-d, --data <dir>', env: 'TANDEM_DATA', key: 'dataDir', description: 'directory of the SQLite store' },
  { flags: '--storage <kind>', env: 'TANDEM_STORAGE', key: 'storage', description: 'sqlite | memory (memory keeps nothing across restarts)' },
  { flags: '--durability <level>', env: 'TANDEM_DURABILITY', key: 'durability', description: 'full | normal | off' },
  { flags: '--sqlite-cache-kib <kib>', env: 'TANDEM_SQLITE_CACHE_KIB', key: 'sqliteCacheKiB', description: "SQLite's page cache" },
  { flags: '--log-level <level>', env: 'LOG_LEVEL', key: 'logLevel', description: 'fatal | error | warn | info | debug | trace | silent' },
  { flags: '--multiplex-path <path>', env: 'TANDEM_MULTIPLEX_PATH', key: 'multiplexPath', description: 'path of the multiplexed (Hocuspocus) endpoint; every other path is a y-websocket document' },
  { flags: '--room-idle-ms <ms>', env: 'TANDEM_ROOM_IDLE_MS', key: 'roomIdleMs', description: 'unload a document this long after its last client left' },
  { flags: '--hibernate-after-ms <ms>', env: 'TANDEM_HIBERNATE_AFTER_MS', key: 'hibernateAfterMs', description: 'keep only the encoded state of a document quiet this long (0: never)' },
  { flags: '--compact-after-updates <n>', env: 'TANDEM_COMPACT_AFTER_UPDATES', key: 'compactAfterUpdates', description: "fold a document's stored updates into a snapshot from this many on (once they weigh as much as the snapshot)" },
  { flags: '--awareness-timeout-ms <ms>', env: 'TANDEM_AWARENESS_TIMEOUT_MS', key: 'awarenessTimeoutMs', description: 'remove an awareness state not renewed for this long' },
  { flags: '--heartbeat-ms <ms>', env: 'TANDEM_HEARTBEAT_MS', key: 'heartbeatMs', description: 'ping interval; a peer silent for a whole interval is dropped' },
  { flags: '--shutdown-timeout-ms <ms>', env: 'TANDEM_SHUTDOWN_TIMEOUT_MS', key: 'shutdownTimeoutMs', description: 'exit anyway if a graceful shutdown takes longer' },
  { flags: '--playground <dir>', env: 'TANDEM_PLAYGROUND_DIR', key: 'playgroundDir', description: 'serve this directory at / (default: the built playground, when present)' },
  { flags: '--auth-secret <secret>', env: 'TANDEM_AUTH_SECRET', key: 'secret', section: 'auth', description: 'verify HS256 tokens with this secret (16+ characters)' },
  { flags: '--auth-jwks <file>', env: 'TANDEM_AUTH_JWKS', key: 'jwksFile', section: 'auth', description: 'verify tokens with the public keys of this JWKS file' },
  { flags: '--auth-public-key <file>', env: 'TANDEM_AUTH_PUBLIC_KEY', key: 'publicKeyFile', section: 'auth', description: 'verify tokens with this PEM public key (RSA, EC or Ed25519)' },
  { flags: '--auth-clock-tolerance-seconds <s>', env: 'TANDEM_AUTH_CLOCK_TOLERANCE_SECONDS', key: 'clockToleranceSeconds', section: 'auth', description: 'clock skew allowed when checking exp and nbf' },
  { flags: '--allowed-origins <list>', env: 'TANDEM_ALLOWED_ORIGINS', key: 'allowedOrigins', description: 'comma-separated Origins allowed to connect (default: any)' },
  // A value, not a bare switch: commander sets a switch whenever its variable exists, so
  // TANDEM_TRUST_PROXY=false would have turned it on. `--trust-proxy` alone is true.
  { flags: '--trust-proxy [bool]', env: 'TANDEM_TRUST_PROXY', key: 'trustProxy', description: 'true | false: count connections under the last X-Forwarded-For address (behind a reverse proxy)' },
  { flags: '--max-message-bytes <bytes>', env: 'TANDEM_MAX_MESSAGE_BYTES', key: 'maxMessageBytes', section: 'limits', description: 'largest WebSocket message accepted' },
  { flags: '--max-awareness-state-bytes <bytes>', env: 'TANDEM_MAX_AWARENESS_STATE_BYTES', key: 'maxAwarenessStateBytes', section: 'limits', description: "largest awareness state of one client" },
  { flags: '--max-document-name-length <n>', env: 'TANDEM_MAX_DOCUMENT_NAME_LENGTH', key: 'maxDocumentNameLength', section: 'limits', description: 'longest document name' },
  { flags: '--max-document-bytes <bytes>', env: 'TANDEM_MAX_DOCUMENT_BYTES', key: 'maxDocumentBytes', section: 'limits', description: 'a document stored this large refuses further growth' },
  { flags: '--max-pending-bytes <bytes>', env: 'TANDEM_MAX_PENDING_BYTES', key: 'maxPendingBytes', section: 'limits', description: 'updates waiting for missing predecessors, per document' },
  { flags: '--max-connections <n>', env: 'TANDEM_MAX_CONNECTIONS', key: 'maxConnections', section: 'limits', description: 'open connections allowed in total' },
  { flags: '--max-connections-per-ip <n>', env: 'TANDEM_MAX_CONNECTIONS_PER_IP', key: 'maxConnectionsPerIp', section: 'limits', description: 'open connections allowed per remote address' },
  { flags: '--max-documents <n>', env: 'TANDEM_MAX_DOCUMENTS', key: 'maxDocuments', section: 'limits', description: 'documents loaded at once' },
  { flags: '--max-documents-per-connection <n>', env: 'TANDEM_MAX_DOCUMENTS_PER_CONNECTION', key: 'maxDocumentsPerConnection', section: 'limits', description: 'documents one multiplexed connection may open' },
  { flags: '--messages-per-second <n>', env: 'TANDEM_MESSAGES_PER_SECOND', key: 'messagesPerSecond', section: 'limits', description: 'sustained messages per connection (1013 beyond)' },
  { flags: '--bytes-per-second <n>', env: 'TANDEM_BYTES_PER_SECOND', key: 'bytesPerSecond', section: 'limits', description: 'sustained bytes per connection (1013 beyond)' },
  { flags: '--message-burst <n>', env: 'TANDEM_MESSAGE_BURST', key: 'messageBurst', section: 'limits', description: 'messages a connection may send at once above its rate' },
  { flags: '--bytes-burst <n>', env: 'TANDEM_BYTES_BURST', key: 'bytesBurst', section: 'limits', description: 'bytes a connection may send at once above its rate' },
  { flags: '--max-pre-auth-messages <n>', env: 'TANDEM_MAX_PRE_AUTH_MESSAGES', key: 'maxPreAuthMessages', section: 'limits', description: 'messages a multiplexed connection may send for one document before authenticating it' },
  { flags: '--max-pre-auth-bytes <bytes>', env: 'TANDEM_MAX_PRE_AUTH_BYTES', key: 'maxPreAuthBytes', section: 'limits', description: 'bytes a multiplexed connection may hold waiting for authentication' },
  { flags: '--pre-auth-timeout-ms <ms>', env: 'TANDEM_PRE_AUTH_TIMEOUT_MS', key: 'preAuthTimeoutMs', section: 'limits', description: 'time a multiplexed connection has to authenticate' },
  { flags: '--send-buffer-high-water-bytes <bytes>', env: 'TANDEM_SEND_BUFFER_HIGH_WATER_BYTES', key: 'sendBufferHighWaterBytes', section: 'limits', description: 'unsent bytes above which a connection gets no broadcasts until it drains' },
  { flags: '--slow-consumer-timeout-ms <ms>', env: 'TANDEM_SLOW_CONSUMER_TIMEOUT_MS', key: 'slowConsumerTimeoutMs', section: 'limits', description: 'close a connection that stays above the high water mark this long' },
]

/** The configuration key a flag sets, as the schema's paths name it: `port`, `limits.maxDocuments`. */
export const configKeyOf = (flag: ServeFlag): string => (flag.section === undefined ? flag.key : `${flag.section}.${flag.key}`)

/** The flag's long name: `--port`. */
export const flagName = (flag: ServeFlag): string => /--[a-z-]+/.exec(flag.flags)![0]

const optionOf = (flag: ServeFlag): Option => new Option(flag.flags, flag.description).env(flag.env)

/** Adds every flag of the table, and `--no-auth`, to `serve`. */
export const addServeFlags = (command: Command): Command => {
  for (const flag of SERVE_FLAGS) command.addOption(optionOf(flag))
  return command.addOption(new Option('--no-auth', 'authentication off, on purpose (without a key it is off too, with a warning)'))
}

/**
 * The configuration input commander's parsed flags (and environment) give: only what was set, so
 * the schema's defaults apply to the rest.
 */
export const configInputFromFlags = (flags: Readonly<Record<string, unknown>>): ServerConfigInput => {
  const input: Record<string, unknown> = {}
  const limits: Record<string, unknown> = {}
  const auth: Record<string, unknown> = {}
  for (const flag of SERVE_FLAGS) {
    const value = flags[optionOf(flag).attributeName()]
    if (value === undefined) continue
    ;(flag.section === 'limits' ? limits : flag.section === 'auth' ? auth : input)[flag.key] = value
  }
  // commander gives `--no-auth` as auth: false (and true when it is absent).
  return { ...input, limits, auth: { ...auth, disabled: flags.auth === false } } as ServerConfigInput
}

/**
 * A configuration error as an operator reads it: each problem under the flag and variable that set
 * the key (`--max-pending-bytes / TANDEM_MAX_PENDING_BYTES: Too small…`), not the schema's path.
 */
export const explainConfigError = (error: ConfigError): string =>
  error.describe((key) => {
    const flag = SERVE_FLAGS.find((f) => configKeyOf(f) === key)
    return flag === undefined ? key : `${flagName(flag)} / ${flag.env}`
  })
