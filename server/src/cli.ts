#!/usr/bin/env node
import { existsSync, mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Command, Option } from 'commander'
import { MemoryStorage, type StorageAdapter } from '@tandem/storage'
import { SqliteStorage } from '@tandem/storage-sqlite'
import { ConfigError, parseConfig, type ServerConfigInput } from './config.js'
import { createLogger } from './logger.js'
import { mintToken } from './auth/mint-token.js'
import { TandemServer } from './server.js'

/**
 * The composition root: the only place that reads `process.env` and picks concrete adapters.
 * Precedence: flags, then environment, then defaults.
 */
const program = new Command('tandem').description('Tandem: a real-time sync server for Yjs documents')

program
  .command('serve')
  .description('Start the sync server (embedded SQLite under --data)')
  .addOption(new Option('--host <host>', 'interface to listen on').env('HOST'))
  .addOption(new Option('-p, --port <port>', 'port to listen on (0 picks a free one)').env('PORT'))
  .addOption(new Option('-d, --data <dir>', 'directory of the SQLite store').env('TANDEM_DATA'))
  .addOption(new Option('--storage <kind>', 'sqlite | memory (memory keeps nothing across restarts)').env('TANDEM_STORAGE'))
  .addOption(new Option('--durability <level>', 'full | normal | off').env('TANDEM_DURABILITY'))
  .addOption(new Option('--sqlite-cache-kib <kib>', "SQLite's page cache").env('TANDEM_SQLITE_CACHE_KIB'))
  .addOption(new Option('--log-level <level>', 'fatal | error | warn | info | debug | trace | silent').env('LOG_LEVEL'))
  .addOption(new Option('--room-idle-ms <ms>', 'unload a document this long after its last client left').env('TANDEM_ROOM_IDLE_MS'))
  .addOption(new Option('--hibernate-after-ms <ms>', 'keep only the encoded state of a document quiet this long (0: never)').env('TANDEM_HIBERNATE_AFTER_MS'))
  .addOption(new Option('--heartbeat-ms <ms>', 'ping interval; a peer silent for a whole interval is dropped').env('TANDEM_HEARTBEAT_MS'))
  .addOption(new Option('--max-message-bytes <bytes>', 'largest WebSocket message accepted').env('TANDEM_MAX_MESSAGE_BYTES'))
  .addOption(new Option('--playground <dir>', 'serve this directory at / (default: the built playground, when present)').env('TANDEM_PLAYGROUND_DIR'))
  .addOption(new Option('--auth-secret <secret>', 'verify HS256 tokens with this secret (16+ characters)').env('TANDEM_AUTH_SECRET'))
  .addOption(new Option('--auth-jwks <file>', 'verify tokens with the public keys of this JWKS file').env('TANDEM_AUTH_JWKS'))
  .addOption(new Option('--auth-public-key <file>', 'verify tokens with this PEM public key (RSA, EC or Ed25519)').env('TANDEM_AUTH_PUBLIC_KEY'))
  .addOption(new Option('--no-auth', 'authentication off, on purpose (without a key it is off too, with a warning)'))
  .addOption(new Option('--allowed-origins <list>', 'comma-separated Origins allowed to connect (default: any)').env('TANDEM_ALLOWED_ORIGINS'))
  .addOption(new Option('--max-connections <n>', 'open connections allowed in total').env('TANDEM_MAX_CONNECTIONS'))
  .addOption(new Option('--max-connections-per-ip <n>', 'open connections allowed per remote address').env('TANDEM_MAX_CONNECTIONS_PER_IP'))
  .addOption(new Option('--max-documents <n>', 'documents loaded at once').env('TANDEM_MAX_DOCUMENTS'))
  .addOption(new Option('--messages-per-second <n>', 'sustained messages per connection (1013 beyond)').env('TANDEM_MESSAGES_PER_SECOND'))
  .addOption(new Option('--bytes-per-second <n>', 'sustained bytes per connection (1013 beyond)').env('TANDEM_BYTES_PER_SECOND'))
  .addOption(new Option('--message-burst <n>', 'messages a connection may send at once above its rate').env('TANDEM_MESSAGE_BURST'))
  .addOption(new Option('--bytes-burst <n>', 'bytes a connection may send at once above its rate').env('TANDEM_BYTES_BURST'))
  .addOption(new Option('--trust-proxy', 'count connections under the last X-Forwarded-For address (behind a reverse proxy)').env('TANDEM_TRUST_PROXY'))
  .action(async (flags: Record<string, string | undefined>) => {
    // commander gives `--no-auth` as auth: false.
    const noAuth = (flags as Record<string, unknown>).auth === false
    const input: ServerConfigInput = {
      ...defined({
        host: flags.host,
        port: flags.port,
        dataDir: flags.data,
        storage: flags.storage as ServerConfigInput['storage'],
        durability: flags.durability as ServerConfigInput['durability'],
        sqliteCacheKiB: flags.sqliteCacheKib,
        logLevel: flags.logLevel as ServerConfigInput['logLevel'],
        roomIdleMs: flags.roomIdleMs,
        hibernateAfterMs: flags.hibernateAfterMs,
        heartbeatMs: flags.heartbeatMs,
        playgroundDir: flags.playground ?? builtPlayground(),
        allowedOrigins: flags.allowedOrigins,
        trustProxy: (flags as Record<string, unknown>).trustProxy as ServerConfigInput['trustProxy'],
      }),
      limits: defined({
        maxMessageBytes: flags.maxMessageBytes,
        maxConnections: flags.maxConnections,
        maxConnectionsPerIp: flags.maxConnectionsPerIp,
        maxDocuments: flags.maxDocuments,
        messagesPerSecond: flags.messagesPerSecond,
        bytesPerSecond: flags.bytesPerSecond,
        messageBurst: flags.messageBurst,
        bytesBurst: flags.bytesBurst,
      }),
      auth: { ...defined({ secret: flags.authSecret, jwksFile: flags.authJwks, publicKeyFile: flags.authPublicKey }), disabled: noAuth },
    } as ServerConfigInput
    let config
    try {
      config = parseConfig(input)
    } catch (error) {
      if (error instanceof ConfigError) {
        process.stderr.write(`${error.message}\n`)
        process.exit(2)
      }
      throw error
    }
    const logger = createLogger(config.logLevel)
    const dataDir = resolve(config.dataDir)
    let storage: StorageAdapter
    if (config.storage === 'memory') {
      storage = new MemoryStorage()
    } else {
      mkdirSync(dataDir, { recursive: true })
      storage = new SqliteStorage({ file: join(dataDir, 'tandem.db'), durability: config.durability, cacheKiB: config.sqliteCacheKiB })
    }
    let server: TandemServer
    try {
      server = new TandemServer({ config, storage, logger })
    } catch (error) {
      // An unreadable key file, say: name it and stop, before anyone can connect.
      process.stderr.write(`cannot start: ${error instanceof Error ? error.message : String(error)}\n`)
      process.exit(2)
    }
    await server.listen()
    if (config.playgroundDir !== undefined) logger.info({ dir: config.playgroundDir }, 'playground served at /')
    logger.info(config.storage === 'memory' ? { storage: 'memory' } : { storage: 'sqlite', data: dataDir, durability: config.durability, cacheKiB: config.sqliteCacheKiB }, 'storage ready')

    let stopping = false
    const stop = async (signal: string) => {
      if (stopping) return
      stopping = true
      // The deadline first, and an exit whatever happens: a shutdown that throws (a log write to a
      // closed pipe, a store that fails to close) must not leave the process running.
      const deadline = setTimeout(() => process.exit(1), config.shutdownTimeoutMs)
      deadline.unref()
      let code = 0
      try {
        logger.info({ signal }, 'shutting down')
        await server.close()
        await storage.close()
        logger.flush()
      } catch (error) {
        code = 1
        try {
          logger.error({ err: error }, 'shutdown failed')
        } catch {
          // Nowhere left to log to.
        }
      }
      process.exit(code)
    }
    process.on('SIGTERM', () => void stop('SIGTERM'))
    process.on('SIGINT', () => void stop('SIGINT'))
  })

/**
 * The playground the client package builds (`client/playground/dist`), found relative to this file
 * (server/dist/cli.js or server/src/cli.ts) rather than imported: the server never depends on the client.
 */
const builtPlayground = (): string | undefined => {
  const dir = resolve(dirname(fileURLToPath(import.meta.url)), '../../client/playground/dist')
  return existsSync(join(dir, 'index.html')) ? dir : undefined
}

program
  .command('token')
  .description('Print a signed development token (HS256) for documents, to pass as ?token=')
  .addOption(new Option('--secret <secret>', 'the server\'s --auth-secret').env('TANDEM_AUTH_SECRET').makeOptionMandatory())
  .requiredOption('--doc <pattern...>', 'document names or patterns (team/*, **); repeatable')
  .addOption(new Option('--access <access>', 'read | write').choices(['read', 'write']).default('write'))
  .option('--expires <duration>', 'lifetime: 30m, 1h, 7d', '1h')
  .option('--sub <user>', 'the user the token names')
  .action(async (flags: { secret: string; doc: string[]; access: 'read' | 'write'; expires: string; sub?: string }) => {
    const token = await mintToken({
      secret: flags.secret,
      docs: flags.doc,
      access: flags.access,
      expiresIn: flags.expires,
      ...(flags.sub === undefined ? {} : { subject: flags.sub }),
    })
    process.stdout.write(`${token}\n`)
  })

/** Drops undefined values so zod defaults apply (exactOptionalPropertyTypes). */
const defined = <T extends Record<string, unknown>>(values: T): Partial<T> =>
  Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>

await program.parseAsync(process.argv)
