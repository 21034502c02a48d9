#!/usr/bin/env node
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Command, Option } from 'commander'
import { MemoryStorage, type StorageAdapter } from '@tandem/storage'
import { SqliteStorage } from '@tandem/storage-sqlite'
import { ConfigError, parseConfig, type ServerConfigInput } from './config.js'
import { createLogger } from './logger.js'
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
  .addOption(new Option('--log-level <level>', 'fatal | error | warn | info | debug | trace | silent').env('LOG_LEVEL'))
  .addOption(new Option('--room-idle-ms <ms>', 'unload a document this long after its last client left').env('TANDEM_ROOM_IDLE_MS'))
  .addOption(new Option('--heartbeat-ms <ms>', 'ping interval; a peer silent for a whole interval is dropped').env('TANDEM_HEARTBEAT_MS'))
  .addOption(new Option('--max-message-bytes <bytes>', 'largest WebSocket message accepted').env('TANDEM_MAX_MESSAGE_BYTES'))
  .action(async (flags: Record<string, string | undefined>) => {
    const input: ServerConfigInput = {
      ...defined({
        host: flags.host,
        port: flags.port,
        dataDir: flags.data,
        storage: flags.storage as ServerConfigInput['storage'],
        durability: flags.durability as ServerConfigInput['durability'],
        logLevel: flags.logLevel as ServerConfigInput['logLevel'],
        roomIdleMs: flags.roomIdleMs,
        heartbeatMs: flags.heartbeatMs,
      }),
      limits: defined({ maxMessageBytes: flags.maxMessageBytes }),
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
      storage = new SqliteStorage({ file: join(dataDir, 'tandem.db'), durability: config.durability })
    }
    const server = new TandemServer({ config, storage, logger })
    await server.listen()
    logger.info(config.storage === 'memory' ? { storage: 'memory' } : { storage: 'sqlite', data: dataDir, durability: config.durability }, 'storage ready')

    let stopping = false
    const stop = async (signal: string) => {
      if (stopping) return
      stopping = true
      logger.info({ signal }, 'shutting down')
      const deadline = setTimeout(() => {
        logger.error('shutdown deadline passed; exiting')
        process.exit(1)
      }, config.shutdownTimeoutMs)
      deadline.unref()
      await server.close()
      await storage.close()
      logger.flush()
      process.exit(0)
    }
    process.on('SIGTERM', () => void stop('SIGTERM'))
    process.on('SIGINT', () => void stop('SIGINT'))
  })

/** Drops undefined values so zod defaults apply (exactOptionalPropertyTypes). */
const defined = <T extends Record<string, unknown>>(values: T): Partial<T> =>
  Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>

await program.parseAsync(process.argv)
