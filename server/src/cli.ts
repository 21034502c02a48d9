#!/usr/bin/env node
import { existsSync, mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Command, Option } from 'commander'
import { MemoryStorage, type StorageAdapter } from '@tandem/storage'
import { SqliteStorage } from '@tandem/storage-sqlite'
import { ConfigError, parseConfig } from './config.js'
import { addServeFlags, configInputFromFlags, explainConfigError } from './serve-flags.js'
import { createLogger } from './logger.js'
import { mintToken } from './auth/mint-token.js'
import { TandemServer } from './server.js'

/**
 * The composition root: the only place that reads `process.env` and picks concrete adapters.
 * Precedence: flags, then environment, then defaults.
 */
const program = new Command('tandem').description('Tandem: a real-time sync server for Yjs documents')

addServeFlags(program.command('serve').description('Start the sync server (embedded SQLite under --data)'))
  .action(async (flags: Record<string, unknown>) => {
    const input = configInputFromFlags(flags)
    const playground = builtPlayground()
    if (input.playgroundDir === undefined && playground !== undefined) input.playgroundDir = playground
    let config
    try {
      config = parseConfig(input)
    } catch (error) {
      if (error instanceof ConfigError) {
        process.stderr.write(`${explainConfigError(error)}\n`)
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

await program.parseAsync(process.argv)
