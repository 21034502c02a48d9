import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { MemoryStorage, type StorageAdapter } from '@tandem/storage'
import { SqliteStorage } from '@tandem/storage-sqlite'
import { TandemServer, createLogger, parseConfig, type ServerConfigInput } from '@tandem/server'
import { parseFlags, requiredPort } from './common.js'

/**
 * Tandem composed exactly as `tandem serve` does (server/src/cli.ts: config, storage adapter,
 * TandemServer, graceful SIGTERM), from the built packages (server/dist, packages/x/dist), with
 * one difference: the per-connection and per-address limits are lifted. Every benchmark client
 * comes from 127.0.0.1, S3/S5/S8 open up to 10,000 sockets (default: 256 per address), and the S2
 * and S7 writers send far more than 500 messages/s each (the default rate limit closes them with
 * 1013). The CLI has flags for the connection limits and the sustained rates, but none for the
 * bursts (2,000 messages), which a writer's single socket read can exceed.
 *
 *   tsx servers/tandem.ts --port 1234 --data <dir> [--storage sqlite|memory] [--durability full|normal|off]
 */
const flags = parseFlags(process.argv.slice(2))
const UNLIMITED = 1_000_000_000

const input = {
  host: flags.get('host') ?? '127.0.0.1',
  port: requiredPort(flags),
  dataDir: flags.get('data') ?? './data',
  storage: flags.get('storage') ?? 'sqlite',
  durability: flags.get('durability') ?? 'full',
  logLevel: flags.get('log-level') ?? 'warn',
  auth: { disabled: true },
  limits: {
    messagesPerSecond: UNLIMITED,
    messageBurst: UNLIMITED,
    bytesPerSecond: UNLIMITED * 1000,
    bytesBurst: UNLIMITED * 1000,
    maxConnections: 100_000,
    maxConnectionsPerIp: 100_000,
    maxDocuments: 100_000,
  },
} as ServerConfigInput
const config = parseConfig(input)
const logger = createLogger(config.logLevel)
let storage: StorageAdapter
if (config.storage === 'memory') {
  storage = new MemoryStorage()
} else {
  const dataDir = resolve(config.dataDir)
  mkdirSync(dataDir, { recursive: true })
  storage = new SqliteStorage({ file: join(dataDir, 'tandem.db'), durability: config.durability })
}
const server = new TandemServer({ config, storage, logger })
await server.listen()

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  setTimeout(() => process.exit(1), config.shutdownTimeoutMs).unref()
  await server.close()
  await storage.close()
  logger.flush()
  process.exit(0)
}
process.on('SIGTERM', () => void stop())
process.on('SIGINT', () => void stop())
