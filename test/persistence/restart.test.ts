import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import type { StorageAdapter } from '@tandem/storage'
import { SqliteStorage } from '@tandem/storage-sqlite'
import { startTandem, tempDir, type RunningTandem } from '../support/tandem.js'
import { yClient, type YClient } from '../support/y-websocket-client.js'
import { eventually, eventuallyAsync } from '../support/wait.js'
import { content, docFrom } from '../support/documents.js'

/** What a damaged page might hold instead of an update: truncated varints, on which Yjs throws. */
const DAMAGED = Buffer.from([0xff, 0xff, 0xff, 0xff])

/**
 * A graceful restart on the same SQLite file: the document is intact, and no provider's first
 * `sync` shows an empty document while stored state exists (the server answers nobody before the
 * stored state is loaded).
 */
describe('graceful restart', () => {
  const cleanups: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  /** A server on a SQLite file in `dir`; closed (server, then storage) after the test. */
  const serve = async (file: string, options: { port?: number; wrap?: (s: StorageAdapter) => StorageAdapter } = {}) => {
    const sqlite = new SqliteStorage({ file })
    const storage = options.wrap?.(sqlite) ?? sqlite
    const tandem = await startTandem({ storage, config: { port: options.port ?? 0 } })
    let closed = false
    const close = async () => {
      if (closed) return
      closed = true
      await tandem.close()
      await sqlite.close()
    }
    cleanups.push(close)
    return { tandem, sqlite, close }
  }
  /** A SQLite file's path in a directory removed after the test. */
  const dbFile = (): string => {
    const dir = tempDir()
    cleanups.push(() => dir.remove())
    return join(dir.path, 'tandem.db')
  }
  const client = (tandem: RunningTandem, room: string, options: { connect?: boolean } = {}): YClient => {
    const c = yClient(tandem.url, room, options)
    cleanups.push(() => c.destroy())
    return c
  }
  /** Connects a fresh provider and returns what its document held at its first `sync` event. */
  const firstSync = async (tandem: RunningTandem, room: string): Promise<{ client: YClient; atFirstSync: string }> => {
    const c = client(tandem, room, { connect: false })
    let atFirstSync: string | null = null
    c.provider.on('sync', (synced: boolean) => {
      if (synced && atFirstSync === null) atFirstSync = content(c.doc)
    })
    c.provider.connect()
    await c.synced()
    return { client: c, atFirstSync: atFirstSync! }
  }

  it('keeps the document intact, in the file and for new providers', async () => {
    const file = dbFile()
    const before = await serve(file)
    const [a, b] = [client(before.tandem, 'notes'), client(before.tandem, 'notes')]
    await Promise.all([a.synced(), b.synced()])
    for (let i = 0; i < 100; i++) {
      a.text.insert(a.text.length, `line ${i}\n`)
      if (i % 3 === 0) b.doc.getMap('map').set(`key${i}`, { i, by: 'b' })
      if (i % 10 === 9) a.text.delete(0, 3)
    }
    await eventually(() => content(a.doc) === content(b.doc), 'a and b to converge')
    const expected = content(a.doc)
    expect(a.text.length).toBeGreaterThan(0)
    await before.close()

    // The file alone holds the document.
    const reopened = new SqliteStorage({ file })
    expect(reopened.integrityCheck()).toBe('ok')
    expect(content(docFrom(await reopened.load('notes')))).toBe(expected)
    await reopened.close()

    const after = await serve(file)
    const { atFirstSync } = await firstSync(after.tandem, 'notes')
    expect(atFirstSync).toBe(expected)
  })

  it('answers nobody before the stored state is in: every joiner’s first sync holds the document', async () => {
    const file = dbFile()
    const before = await serve(file)
    const writer = client(before.tandem, 'slow')
    await writer.synced()
    writer.text.insert(0, 'stored before the restart')
    writer.doc.getMap('map').set('answer', 42)
    await eventuallyAsync(async () => (await before.sqlite.stats('slow')).updates > 0, 'the edit to be stored')
    const expected = content(writer.doc)
    writer.destroy()
    await before.close()

    // The next server's store loads slowly: joiners connect and send sync step 1 meanwhile.
    const gate = gatedLoad()
    const after = await serve(file, { wrap: gate.wrap })
    const joiners = Array.from({ length: 5 }, () => firstSync(after.tandem, 'slow'))
    await eventually(() => gate.waiting > 0, 'the room to start loading')
    // Give every joiner time to open its socket and send sync step 1 while the load is held.
    await eventually(() => after.tandem.server.connectionCount === 5, 'all joiners to connect')
    gate.release()
    const results = await Promise.all(joiners)
    for (const { atFirstSync } of results) expect(atFirstSync).toBe(expected)
    // Concurrent joiners shared one load.
    expect(gate.loads).toBe(1)
  })

  it('a connected provider reconnects by itself across the restart and its offline edits are kept', async () => {
    const file = dbFile()
    const before = await serve(file)
    const port = before.tandem.port
    const a = client(before.tandem, 'across')
    await a.synced()
    a.text.insert(0, 'before;')
    await eventuallyAsync(async () => (await before.sqlite.stats('across')).updates > 0, 'the edit to be stored')
    const closeCodes: number[] = []
    a.provider.on('connection-close', (event: { code: number } | null) => {
      if (event !== null) closeCodes.push(event.code)
    })
    await before.close()
    // Service restart (1012): y-websocket retries it.
    await eventually(() => closeCodes.length > 0, 'a to see the close')
    expect(closeCodes[0]).toBe(1012)
    a.text.insert(a.text.length, 'offline;')
    const aAtSync: string[] = []
    a.provider.on('sync', (synced: boolean) => {
      if (synced) aAtSync.push(a.text.toString())
    })

    const after = await serve(file, { port })
    await eventually(() => a.provider.synced, 'a to reconnect and sync', 15_000)
    expect(aAtSync[0]).toBe('before;offline;')
    const { atFirstSync, client: fresh } = await eventuallyAsync(async () => {
      const result = await firstSync(after.tandem, 'across')
      return result.atFirstSync.includes('offline;') ? result : undefined
    }, 'a fresh provider to see a’s offline edit')
    expect(JSON.parse(atFirstSync).text).toBe('before;offline;')
    expect(content(fresh.doc)).toBe(content(a.doc))
  })

  it('loads a document without a row damaged on disk, serves the rest and logs the row once', async () => {
    const file = dbFile()
    const before = await serve(file)
    const [a, b] = [client(before.tandem, 'notes'), client(before.tandem, 'notes')]
    await Promise.all([a.synced(), b.synced()])
    // Three rows: a's "first", a's " middle" (damaged below), b's "zero " before a's first character.
    a.text.insert(0, 'first')
    await eventually(() => b.text.toString() === 'first', 'b to see the first edit')
    a.text.insert(5, ' middle')
    await eventually(() => b.text.toString() === 'first middle', 'b to see the second edit')
    b.text.insert(0, 'zero ')
    await eventually(() => a.text.toString() === 'zero first middle', 'a to see the third edit')
    await before.close()

    const db = new Database(file)
    const rows = db.prepare('SELECT seq FROM updates ORDER BY seq').all() as Array<{ seq: number }>
    expect(rows).toHaveLength(3)
    db.prepare('UPDATE updates SET data = ? WHERE seq = ?').run(DAMAGED, rows[1]!.seq)
    db.close()

    const after = await serve(file)
    const { client: reader, atFirstSync } = await firstSync(after.tandem, 'notes')
    expect(JSON.parse(atFirstSync).text).toBe('zero first')
    // The document still takes writes.
    reader.text.insert(reader.text.length, '!')
    const other = client(after.tandem, 'notes')
    await eventually(() => other.text.toString() === 'zero first!', 'a new client to see the write')
    const damaged = after.tandem.logs.filter((line) => line.msg === 'stored update unreadable; the document is loaded without it')
    expect(damaged).toEqual([expect.objectContaining({ doc: 'notes', piece: 1, bytes: 4, level: 50 })])
  })

  it('serves a document stored as one damaged piece as empty after one reconnect, and stays up', async () => {
    const file = dbFile()
    const before = await serve(file)
    const [a, aSeen] = [client(before.tandem, 'one'), client(before.tandem, 'one')]
    const [keep, keepSeen] = [client(before.tandem, 'kept'), client(before.tandem, 'kept')]
    await Promise.all([a.synced(), aSeen.synced(), keep.synced(), keepSeen.synced()])
    a.text.insert(0, 'only row')
    keep.text.insert(0, 'elsewhere')
    await eventually(() => aSeen.text.toString() === 'only row' && keepSeen.text.toString() === 'elsewhere', 'both edits to reach the server')
    await before.close()

    const db = new Database(file)
    const rows = db.prepare('SELECT u.seq FROM updates u JOIN documents d ON d.id = u.doc_id WHERE d.name = ?').all('one') as Array<{ seq: number }>
    expect(rows).toHaveLength(1)
    db.prepare('UPDATE updates SET data = ? WHERE doc_id = (SELECT id FROM documents WHERE name = ?)').run(DAMAGED, 'one')
    db.close()

    const after = await serve(file)
    // The provider is closed once (1011, retryable), reconnects, and finds the document empty.
    const reader = client(after.tandem, 'one')
    await reader.synced()
    expect(reader.text.toString()).toBe('')
    reader.text.insert(0, 'again')
    const other = client(after.tandem, 'one')
    await eventually(() => other.text.toString() === 'again', 'a new client to see the write')
    // Other documents were never touched.
    const second = client(after.tandem, 'kept')
    await eventually(() => second.text.toString() === 'elsewhere', 'the other document')
    const damaged = after.tandem.logs.filter((line) => line.msg === 'stored update unreadable; the document is loaded without it')
    expect(damaged).toEqual([expect.objectContaining({ doc: 'one', piece: 0, bytes: 4, level: 50 })])
    expect(after.tandem.logs.filter((line) => line.msg === 'document discarded; it reloads from storage')).toEqual([
      expect.objectContaining({ doc: 'one', level: 50, reason: expect.stringContaining('could not be read') }),
    ])
  })
})

/** Wraps a store so `load` waits until `release()`; counts loads. */
const gatedLoad = () => {
  let open!: () => void
  const opened = new Promise<void>((resolve) => (open = resolve))
  const state = { loads: 0, waiting: 0 }
  return {
    get loads() {
      return state.loads
    },
    get waiting() {
      return state.waiting
    },
    release: () => open(),
    wrap: (inner: StorageAdapter): StorageAdapter =>
      new Proxy(inner, {
        get(target, property) {
          if (property === 'load') {
            return async (document: string) => {
              state.loads++
              state.waiting++
              await opened
              return target.load(document)
            }
          }
          const value = Reflect.get(target, property, target) as unknown
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
        },
      }),
  }
}
