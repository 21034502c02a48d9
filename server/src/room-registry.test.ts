import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { MemoryStorage, type CompactOptions, type CompactionResult, type Fold, type StoredDocument } from '@tandem/storage'
import { createLogger } from './logger.js'
import { RoomRegistry } from './room-registry.js'
import type { RoomMember } from './room-member.js'

/** MemoryStorage that records how it was asked to compact, and can fail appends on demand. */
class WatchedStorage extends MemoryStorage {
  readonly compactions: CompactOptions[] = []
  failAppends = 0

  override async append(entries: Parameters<MemoryStorage['append']>[0]): Promise<void> {
    if (this.failAppends > 0) {
      this.failAppends--
      throw new Error('disk unavailable (test)')
    }
    return super.append(entries)
  }

  override async compact(document: string, fold: Fold, options: CompactOptions = {}): Promise<CompactionResult> {
    this.compactions.push(options)
    return super.compact(document, fold, options)
  }
}

/** WatchedStorage with `appendNow`: rows are stored at once, made "durable" when the test says so. */
class HeldStorage extends WatchedStorage {
  readonly held: Array<() => void> = []
  hold = false

  appendNow(entries: Parameters<MemoryStorage['append']>[0]): Promise<void> {
    const stored = super.append(entries)
    if (!this.hold) return stored
    return stored.then(() => new Promise<void>((resolve) => this.held.push(resolve)))
  }
}

const member = (id: number): RoomMember => ({ id, readOnly: false, send() {}, reject() {}, acknowledge() {} })

/** A client document whose every edit is captured as its own update. */
const writer = () => {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  return {
    doc,
    edit(text: string): Uint8Array {
      doc.getText('t').insert(doc.getText('t').length, text)
      return updates.at(-1)!
    },
  }
}

const textOf = (stored: StoredDocument): string => {
  const doc = new Y.Doc()
  if (stored.snapshot !== null) Y.applyUpdate(doc, stored.snapshot)
  for (const update of stored.updates) Y.applyUpdate(doc, update)
  return doc.getText('t').toString()
}

const deadline = async (condition: () => boolean, what: string, ms = 5_000): Promise<void> => {
  const until = Date.now() + ms
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

/** The registry a test opened, closed after it. */
let registry: RoomRegistry | undefined
afterEach(async () => {
  await registry?.close()
  registry = undefined
})

describe('RoomRegistry compaction', () => {
  const open = (storage: MemoryStorage) =>
    (registry = new RoomRegistry({
      storage,
      logger: createLogger('silent'),
      roomIdleMs: 60_000,
      compactAfterUpdates: 5,
      awarenessTimeoutMs: 30_000,
    }))

  /** Alice joins 'doc' and writes `count` edits, each stored before the next. */
  const aliceWrites = async (rooms: RoomRegistry, count: number) => {
    const alice = member(1)
    const room = (await rooms.join('doc', alice, () => true))!
    const client = writer()
    for (let i = 0; i < count; i++) {
      room.receiveUpdate(alice, client.edit(`edit ${i}; `))
      await rooms.settle()
    }
    return { alice, room, client }
  }

  it('stores the live document as the snapshot instead of rebuilding it from the log', async () => {
    const storage = new WatchedStorage()
    const rooms = open(storage)
    const { client } = await aliceWrites(rooms, 12)
    await deadline(() => storage.compactions.length > 0, 'a compaction')
    await rooms.settle()
    expect(storage.compactions[0]!.state).toBeInstanceOf(Uint8Array)
    const stored = await storage.load('doc')
    expect(stored.snapshot).not.toBeNull()
    expect(textOf(stored)).toBe(client.doc.getText('t').toString())
  })

  it('folds the log instead when the room was loaded while an earlier room of the document had unwritten updates', async () => {
    const storage = new WatchedStorage()
    const rooms = open(storage)
    const client = writer()
    const alice = member(1)
    const bob = member(2)
    const first = (await rooms.join('doc', alice, () => true))!
    // This write fails once and is retried after a backoff, while the room is thrown away and loaded again.
    storage.failAppends = 1
    first.receiveUpdate(alice, client.edit('written late; '))
    const settled = rooms.settle()
    rooms.discard(first, 'test')
    const second = (await rooms.join('doc', bob, () => true))!
    expect(second).not.toBe(first)
    // The reloaded room does not have the late update; it arrives in the store after the load.
    const other = writer()
    for (let i = 0; i < 12; i++) {
      second.receiveUpdate(bob, other.edit(`edit ${i}; `))
      await new Promise((resolve) => setImmediate(resolve))
    }
    await settled
    await rooms.settle()
    await deadline(() => storage.compactions.length > 0, 'a compaction')
    await rooms.settle()
    // Storing the live state here would have deleted the late row with the others it replaced.
    const text = textOf(await storage.load('doc'))
    expect(text).toContain('written late; ')
    expect(text).toContain('edit 11; ')
    expect(storage.compactions.every((options) => options.state === undefined)).toBe(true)
  })

  it('compacts once when commits that each asked for it end after the compaction they asked for', async () => {
    const storage = new HeldStorage()
    const rooms = open(storage)
    const { alice, room, client } = await aliceWrites(rooms, 4)
    // The 5th and 6th updates are stored but not yet durable; each flush finds the log long enough.
    storage.hold = true
    room.receiveUpdate(alice, client.edit('edit 4; '))
    await deadline(() => storage.held.length === 1, 'the 5th update stored')
    room.receiveUpdate(alice, client.edit('edit 5; '))
    await deadline(() => storage.held.length === 2, 'the 6th update stored')
    storage.hold = false
    // The 5th commit ends: its compaction folds both rows (the live state has them).
    storage.held[0]!()
    await deadline(() => storage.compactions.length === 1, 'a compaction')
    await deadline(() => room.logLength === 0, 'the compaction counted')
    // The 6th commit ends after it: the log it found long is folded already.
    storage.held[1]!()
    await rooms.settle()
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
    expect(storage.compactions).toHaveLength(1)
    expect(textOf(await storage.load('doc'))).toBe(client.doc.getText('t').toString())
  })
})

describe('RoomRegistry load', () => {
  it('loads a document without a stored row it cannot read, and logs that row once', async () => {
    const storage = new MemoryStorage()
    const client = writer()
    const first = client.edit('first; ')
    const second = client.edit('second; ')
    // Truncated varints: what a damaged page would hold. Yjs throws on it.
    const damaged = new Uint8Array([0xff, 0xff, 0xff, 0xff])
    expect(() => Y.applyUpdate(new Y.Doc(), damaged)).toThrow()
    await storage.append([{ document: 'doc', update: first }, { document: 'doc', update: damaged }, { document: 'doc', update: second }])
    const lines: Array<Record<string, unknown>> = []
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) })
    registry = new RoomRegistry({ storage, logger, roomIdleMs: 60_000, compactAfterUpdates: 500, awarenessTimeoutMs: 30_000 })
    const room = (await registry.join('doc', member(1), () => true))!
    expect(room.doc.getText('t').toString()).toBe('first; second; ')
    expect(lines.filter((line) => line.level === 50)).toEqual([
      expect.objectContaining({ doc: 'doc', piece: 1, bytes: 4, msg: 'stored update unreadable; the document is loaded without it' }),
    ])
  })
})
