import { join } from 'node:path'
import { TandemError } from '@tandem/protocol'
import { TandemServer, parseConfig, type Authenticate, type OnStateless, type ServerConfigInput } from '@tandem/server'
import { MemoryStorage, type StorageAdapter } from '@tandem/storage'
import { memoryLogger, tempDir, type RunningTandem } from './tandem.js'

/**
 * Like `startTandem`, with the server's hooks: `authenticate` and `onStateless`. In-process,
 * 127.0.0.1, port 0; `close()` closes the server and what the fixture opened.
 */
export const startTandemWithHooks = async (
  options: { authenticate?: Authenticate; onStateless?: OnStateless; storage?: StorageAdapter | 'sqlite'; config?: ServerConfigInput } = {},
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

/**
 * A stand-in for real token checking (JWT lives in the server's auth module): each token maps to
 * the documents it opens and how. An unknown or missing token is UNAUTHORIZED; a known token for
 * another document is FORBIDDEN.
 */
export const tokenTable =
  (table: Record<string, { documents: readonly string[]; access: 'read' | 'write' }>): Authenticate =>
  ({ documentName, token }) => {
    const grant = token === null ? undefined : table[token]
    if (grant === undefined) throw new TandemError('UNAUTHORIZED')
    if (!grant.documents.includes(documentName)) throw new TandemError('FORBIDDEN')
    return { access: grant.access, user: token }
  }
