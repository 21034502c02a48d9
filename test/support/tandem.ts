import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { TandemServer, parseConfig, type Authenticate, type OnStateless, type ServerConfigInput, type Logger } from '@tandem/server'
import { MemoryStorage, type StorageAdapter } from '@tandem/storage'

export interface RunningTandem {
  readonly server: TandemServer
  readonly storage: StorageAdapter
  readonly port: number
  /** ws://127.0.0.1:port */
  readonly url: string
  /** Log records written by the server (level >= info), parsed. */
  readonly logs: Array<Record<string, unknown>>
  close(): Promise<void>
}

/** A throwaway directory, removed by the returned cleanup. */
export const tempDir = (prefix = 'tandem-test-'): { path: string; remove(): void } => {
  const path = mkdtempSync(join(tmpdir(), prefix))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

/** A logger that records lines in memory, so tests can assert "one log line" without noise. */
export const memoryLogger = (): { logger: Logger; logs: Array<Record<string, unknown>> } => {
  const logs: Array<Record<string, unknown>> = []
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
  )
  return { logger, logs }
}

/**
 * Starts an in-process server on 127.0.0.1, port 0, with the server's hooks when given. `close()`
 * closes the server and the storage the fixture opened (a storage passed in stays the caller's).
 */
export const startTandem = async (
  options: { storage?: StorageAdapter | 'sqlite'; config?: ServerConfigInput; authenticate?: Authenticate; onStateless?: OnStateless } = {},
): Promise<RunningTandem> => {
  let dir: { remove(): void } | null = null
  let storage: StorageAdapter
  if (options.storage === 'sqlite') {
    const d = tempDir()
    dir = d
    const { SqliteStorage } = await import('@tandem/storage-sqlite')
    storage = new SqliteStorage({ file: join(d.path, 'tandem.db') })
  } else {
    storage = options.storage ?? new MemoryStorage()
  }
  const { logger, logs } = memoryLogger()
  const config = parseConfig({ host: '127.0.0.1', port: 0, roomIdleMs: 100, ...options.config })
  const server = new TandemServer({
    config,
    storage,
    logger,
    ...(options.authenticate === undefined ? {} : { authenticate: options.authenticate }),
    ...(options.onStateless === undefined ? {} : { onStateless: options.onStateless }),
  })
  const address = await server.listen()
  return {
    server,
    storage,
    port: address.port,
    url: `ws://127.0.0.1:${address.port}`,
    logs,
    async close() {
      await server.close()
      if (options.storage === undefined || options.storage === 'sqlite') await storage.close()
      dir?.remove()
    },
  }
}
