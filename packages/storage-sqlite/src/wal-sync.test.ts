import { mkdtempSync, rmSync } from 'node:fs'
import { open as openFile, type FileHandle } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { AppendEntry, Durability } from '@tandem/storage'
import { recordTextEdits } from '@tandem/storage/contract'
import { SqliteStorage } from './sqlite-storage.js'

/** FileHandle's prototype, to watch every fsync the store makes (the class itself is not exported). */
const fileHandlePrototype = async (): Promise<{ sync(): Promise<void> }> => {
  const handle = await openFile(import.meta.filename, 'r')
  await handle.close()
  return Object.getPrototypeOf(handle) as { sync(): Promise<void> }
}

describe('SqliteStorage durability: writes first, fsyncs the WAL after, in groups', () => {
  let directory: string
  let file: string
  const opened: SqliteStorage[] = []
  const { updates } = recordTextEdits(11, 10)
  const entry = (index: number): AppendEntry[] => [{ document: 'doc', update: updates[index]! }]
  const open = (durability: Durability, minSyncIntervalMs = 0) => {
    const storage = new SqliteStorage({ file, durability, minSyncIntervalMs })
    opened.push(storage)
    return storage
  }
  /** Rows of the document as another connection (another process) sees them right now. */
  const rowsSeenElsewhere = () => {
    const raw = new Database(file, { readonly: true })
    try {
      return (raw.prepare('SELECT count(*) AS n FROM updates').get() as { n: number }).n
    } finally {
      raw.close()
    }
  }

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'tandem-wal-'))
    file = join(directory, 'tandem.db')
  })

  afterEach(async () => {
    vi.restoreAllMocks()
    for (const storage of opened.splice(0)) await storage.close()
    rmSync(directory, { recursive: true, force: true })
  })

  it('appendNow has written when it returns, and resolves only after an fsync that began after the write', async () => {
    const prototype = await fileHandlePrototype()
    const sync = prototype.sync
    const events: string[] = []
    // The first fsync waits at this gate, so the test can write while it is under way.
    let openGate = () => {}
    let gate: Promise<void> | null = null
    vi.spyOn(prototype, 'sync').mockImplementation(async function (this: FileHandle) {
      events.push('fsync start')
      if (gate !== null) await gate
      gate = null
      await sync.call(this)
      events.push('fsync end')
    })
    const storage = open('full')
    await storage.append(entry(0))
    events.length = 0
    const syncsBefore = storage.walSyncs
    gate = new Promise<void>((resolve) => (openGate = resolve))

    const first = storage.appendNow(entry(1))
    events.push('write 1')
    expect(rowsSeenElsewhere()).toBe(2)
    // The fsync starts after the task that wrote (the caller broadcasts first), not inside appendNow.
    expect(events).toEqual(['write 1'])
    while (!events.includes('fsync start')) await new Promise((resolve) => setImmediate(resolve))
    const second = storage.appendNow(entry(2))
    events.push('write 2')
    const third = storage.appendNow(entry(3))
    events.push('write 3')
    expect(rowsSeenElsewhere()).toBe(4)
    openGate()
    await Promise.all([
      first.then(() => events.push('durable 1')),
      second.then(() => events.push('durable 2')),
      third.then(() => events.push('durable 3')),
    ])

    // Writes 2 and 3 came while the first fsync ran: they share the next one.
    expect(events).toEqual([
      'write 1',
      'fsync start',
      'write 2',
      'write 3',
      'fsync end',
      'durable 1',
      'fsync start',
      'fsync end',
      'durable 2',
      'durable 3',
    ])
    expect(storage.walSyncs - syncsBefore).toBe(2)
  })

  it('spaces fsyncs: a write soon after one waits for the interval, then its own fsync', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'performance'] })
    try {
      const prototype = await fileHandlePrototype()
      const syncCalls = vi.spyOn(prototype, 'sync')
      const storage = open('full', 1_000)
      // Nothing synced for a while: at once.
      await storage.append(entry(0))
      expect(storage.walSyncs).toBe(1)
      const callsBefore = syncCalls.mock.calls.length
      let durable = false
      const written = storage.appendNow(entry(1)).then(() => (durable = true))
      const alsoWritten = storage.appendNow(entry(2))
      await new Promise((resolve) => setImmediate(resolve))
      // The interval has not passed: no fsync has even been asked for.
      expect(syncCalls.mock.calls.length).toBe(callsBefore)
      expect(durable).toBe(false)
      await vi.advanceTimersByTimeAsync(1_000)
      await Promise.all([written, alsoWritten])
      // One fsync for both writes of the interval.
      expect(syncCalls.mock.calls.length).toBe(callsBefore + 1)
      expect(storage.walSyncs).toBe(2)
    } finally {
      vi.useRealTimers()
    }
  })

  it('makes every write durable at full (append, compaction, delete), and fsyncs nothing itself at normal or off', async () => {
    const full = open('full')
    await full.append(entry(0))
    const afterAppend = full.walSyncs
    expect(afterAppend).toBeGreaterThanOrEqual(1)
    await full.compact('doc', (_snapshot, logged) => logged[0]!)
    expect(full.walSyncs).toBeGreaterThan(afterAppend)
    const afterCompact = full.walSyncs
    await full.delete('doc')
    expect(full.walSyncs).toBeGreaterThan(afterCompact)
    await full.close()
    opened.splice(opened.indexOf(full), 1)

    for (const durability of ['normal', 'off'] as const) {
      const storage = open(durability)
      await storage.appendNow([{ document: durability, update: updates[1]! }])
      await storage.append([{ document: durability, update: updates[2]! }])
      expect(storage.walSyncs).toBe(0)
      expect((await storage.load(durability)).updates).toHaveLength(2)
    }
  })

  it('rejects the writes a failed fsync covered, and the next write gets a fresh fsync', async () => {
    const storage = open('full')
    await storage.append(entry(0))
    const prototype = await fileHandlePrototype()
    const sync = prototype.sync
    const spy = vi.spyOn(prototype, 'sync').mockRejectedValueOnce(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }))
    await expect(storage.appendNow(entry(1))).rejects.toThrow(/EIO/)
    spy.mockImplementation(async function (this: FileHandle) {
      await sync.call(this)
    })
    await expect(storage.appendNow(entry(2))).resolves.toBeUndefined()
    // The row whose fsync failed is still written (the caller appends it again; Yjs ignores the copy).
    expect((await storage.load('doc')).updates).toHaveLength(3)
  })

  it('close waits for the fsync under way', async () => {
    const storage = open('full')
    const durable = storage.appendNow(entry(0))
    await storage.close()
    opened.splice(opened.indexOf(storage), 1)
    await expect(durable).resolves.toBeUndefined()
    const reopened = open('full')
    expect((await reopened.load('doc')).updates).toEqual([updates[0]])
  })
})
