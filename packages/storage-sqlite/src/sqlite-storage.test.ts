import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { foldUpdates } from '@tandem/storage'
import { runStorageContract, seededRandom } from '@tandem/storage/contract'
import { SCHEMA_V1 } from './schema.js'
import { DEFAULT_CACHE_KIB, SqliteStorage } from './sqlite-storage.js'
import { WalIndex } from './wal-index.js'

const temporaryDirectories: string[] = []
function temporaryDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-sqlite-'))
  temporaryDirectories.push(directory)
  return directory
}

runStorageContract('SqliteStorage', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-sqlite-'))
  // A directory that does not exist yet: `open` creates it.
  const adapter = await SqliteStorage.open({ file: join(directory, 'data', 'tandem.db') })
  return { adapter, cleanup: async () => rmSync(directory, { recursive: true, force: true }) }
})

/** One turn of the event loop: what `setImmediate` queued before this runs first. */
const turn = () => new Promise((resolve) => setImmediate(resolve))

/** Types `text` into the text `t` of a fresh doc, one update per character. */
function edits(text: string): Uint8Array[] {
  const doc = new Y.Doc()
  doc.clientID = 1
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  for (const character of text) doc.getText('t').insert(doc.getText('t').length, character)
  doc.destroy()
  return updates
}

function textOf(snapshot: Uint8Array | null, updates: readonly Uint8Array[]): string {
  const doc = new Y.Doc()
  Y.transact(doc, () => {
    if (snapshot !== null) Y.applyUpdate(doc, snapshot)
    for (const update of updates) Y.applyUpdate(doc, update)
  })
  const text = doc.getText('t').toString()
  doc.destroy()
  return text
}

describe('SqliteStorage', () => {
  let file: string
  const opened: SqliteStorage[] = []
  function open(durability?: 'full' | 'normal' | 'off'): SqliteStorage {
    const storage = new SqliteStorage(durability === undefined ? { file } : { file, durability })
    opened.push(storage)
    return storage
  }
  async function close(storage: SqliteStorage): Promise<void> {
    opened.splice(opened.indexOf(storage), 1)
    await storage.close()
  }

  beforeEach(() => {
    file = join(temporaryDirectory(), 'tandem.db')
  })

  afterEach(async () => {
    for (const storage of opened.splice(0)) await storage.close()
    for (const directory of temporaryDirectories.splice(0)) rmSync(directory, { recursive: true, force: true })
  })

  it('keeps everything across close and reopen', async () => {
    const first = open()
    expect(first.file).toBe(file)
    const updates = edits('hello world')
    await first.append(updates.slice(0, 5).map((update) => ({ document: 'doc', update })))
    const { versionId } = await first.compact('doc', foldUpdates, { version: 'v1' })
    await first.append(updates.slice(5).map((update) => ({ document: 'doc', update })))
    const before = await first.load('doc')
    const versions = await first.listVersions('doc')
    await close(first)
    // The TRUNCATE checkpoint on close leaves the main file complete on its own.
    expect(!existsSync(`${file}-wal`) || statSync(`${file}-wal`).size === 0).toBe(true)

    const second = open()
    expect(await second.load('doc')).toEqual(before)
    expect(textOf(before.snapshot, before.updates)).toBe('hello world')
    expect(await second.listVersions('doc')).toEqual(versions)
    expect(await second.loadVersion('doc', versionId!)).toEqual(before.snapshot)
    expect(await second.listDocuments()).toEqual(['doc'])
    // Sequence numbers carry on after the reopen.
    await second.append([{ document: 'doc', update: edits('hello world!')[11]! }])
    expect((await second.load('doc')).lastSeq).toBe(12)
    expect(second.integrityCheck()).toBe('ok')
  })

  it('reopens the same file at every durability level', async () => {
    const updates = edits('abc')
    let expected = ''
    for (const [index, durability] of (['off', 'normal', 'full'] as const).entries()) {
      const storage = open(durability)
      await storage.append([{ document: 'doc', update: updates[index]! }])
      expected += 'abc'[index]
      const stored = await storage.load('doc')
      expect(textOf(stored.snapshot, stored.updates)).toBe(expected)
      await close(storage)
    }
    const raw = new Database(file, { readonly: true })
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal')
    raw.close()
    expect(open().integrityCheck()).toBe('ok')
  })

  it('refuses an unknown durability when constructed', () => {
    expect(() => new SqliteStorage({ file, durability: 'fast' as 'full' })).toThrow(/durability/)
  })

  it("keeps SQLite's own 2 MB page cache unless told otherwise (better-sqlite3 builds with 16 MB)", () => {
    expect(DEFAULT_CACHE_KIB).toBe(2048)
    expect(open().cacheKiB).toBe(2048)
    const small = new SqliteStorage({ file, cacheKiB: 256 })
    opened.push(small)
    expect(small.cacheKiB).toBe(256)
    expect(() => new SqliteStorage({ file, cacheKiB: -1 })).toThrow(/cacheKiB/)
    expect(() => new SqliteStorage({ file, cacheKiB: 1.5 })).toThrow(/cacheKiB/)
  })

  it('checkpoints the WAL in a later turn of the event loop than the write that fills it, not inside it', async () => {
    const storage = new SqliteStorage({ file, durability: 'normal', checkpointPages: 20 })
    opened.push(storage)
    const wal = new WalIndex(file)
    const updates = edits('x'.repeat(300))
    await storage.appendNow([{ document: 'doc', update: updates[0]! }])
    await turn()
    // Writes without a turn of the event loop in between, until the WAL holds 20 frames...
    const mainFileBefore = statSync(file).size
    let written = 1
    while (wal.pendingFrames()! < 20 && written < 100) await storage.appendNow([{ document: 'doc', update: updates[written++]! }])
    expect(wal.pendingFrames()).toBeGreaterThanOrEqual(20)
    // ...leave the database file as it was: no checkpoint ran inside them...
    expect(statSync(file).size).toBe(mainFileBefore)
    expect(storage.checkpoints).toBe(0)
    // ...and one turn later the WAL's pages are in it.
    await turn()
    expect(storage.checkpoints).toBe(1)
    expect(wal.pendingFrames()).toBe(0)
    expect(statSync(file).size).toBeGreaterThan(mainFileBefore)
    // Under a steady stream of writes the WAL never holds much more than the threshold.
    for (; written < 300; written++) {
      await storage.appendNow([{ document: 'doc', update: updates[written]! }])
      await turn()
      expect(wal.pendingFrames()).toBeLessThan(20 + 5)
    }
    expect(storage.checkpoints).toBeGreaterThan(5)
    const stored = await storage.load('doc')
    expect(textOf(stored.snapshot, stored.updates)).toBe('x'.repeat(300))
    // A check still queued when the store closes is dropped, not run on a closed connection.
    await turn()
    const before = storage.checkpoints
    for (let i = 0; i < 30; i++) await storage.appendNow([{ document: `late-${i}`, update: updates[0]! }])
    await close(storage)
    await turn()
    expect(storage.checkpoints).toBe(before)
    expect(storage.checkpointFailures).toBe(0)
    wal.close()
    expect(() => new SqliteStorage({ file, checkpointPages: 0 })).toThrow(/checkpointPages/)
  })

  it("counts the WAL's frames, not writes: a row of 1.5 KB takes several pages", async () => {
    const storage = new SqliteStorage({ file, durability: 'normal', checkpointPages: 20 })
    opened.push(storage)
    const wal = new WalIndex(file)
    const large = new Uint8Array(1500).fill(7)
    let writes = 0
    while (wal.pendingFrames()! < 20 && writes < 100) {
      await storage.appendNow([{ document: 'large', update: large }])
      writes++
    }
    expect(wal.pendingFrames()).toBeGreaterThanOrEqual(20)
    // Counted as one page per write, these would be far from the threshold.
    expect(writes).toBeLessThanOrEqual(7)
    await turn()
    expect(storage.checkpoints).toBe(1)
    expect(wal.pendingFrames()).toBe(0)
    wal.close()
  })

  it('never loads a logged row that the snapshot already stands for', async () => {
    const storage = open()
    const updates = edits('abc')
    await storage.append(updates.map((update) => ({ document: 'doc', update })))
    await storage.compact('doc', foldUpdates)
    await close(storage)

    // Put back a row the compaction folded, as if its delete had been lost.
    const raw = new Database(file)
    raw.prepare('INSERT INTO updates (doc_id, seq, data) SELECT doc_id, 2, ? FROM snapshots').run(updates[1]!)
    raw.close()

    const reopened = open()
    const stored = await reopened.load('doc')
    expect(stored.updates).toEqual([])
    expect(stored.lastSeq).toBe(3)
    expect(textOf(stored.snapshot, stored.updates)).toBe('abc')
    // Numbering goes on after the snapshot, not after the stray row (a row at 3 would never load).
    await reopened.append([{ document: 'doc', update: edits('abcd')[3]! }])
    const appended = await reopened.load('doc')
    expect(appended.lastSeq).toBe(4)
    expect(textOf(appended.snapshot, appended.updates)).toBe('abcd')
  })

  it('rolls back the whole batch when a write fails inside the transaction', async () => {
    const storage = open()
    const [first, second] = edits('ab')
    await storage.append([
      { document: 'a', update: first! },
      { document: 'b', update: first! },
    ])
    // Make b's next insert fail, after a's has succeeded in the same batch.
    const raw = new Database(file)
    raw.exec(`CREATE TRIGGER refuse_b BEFORE INSERT ON updates
              WHEN NEW.doc_id = (SELECT id FROM documents WHERE name = 'b')
              BEGIN SELECT RAISE(ABORT, 'constraint failed (test)'); END`)
    raw.close()

    await expect(
      storage.append([
        { document: 'a', update: second! },
        { document: 'b', update: second! },
      ]),
    ).rejects.toThrow(/constraint/i)
    expect(await storage.load('a')).toEqual({ snapshot: null, updates: [first], lastSeq: 1 })
    // The failed batch's rows were rolled back, so numbering goes on from a's first row.
    await storage.append([{ document: 'a', update: second! }])
    expect((await storage.load('a')).lastSeq).toBe(2)
  })

  it('upgrades a file of schema version 1 and numbers on from its counter', async () => {
    const updates = edits('hello')
    const v1 = new Database(file)
    v1.pragma('journal_mode = WAL')
    v1.exec(SCHEMA_V1)
    v1.pragma('user_version = 1')
    // Version 1 handed out seqs from documents.last_seq: 'doc' holds a snapshot of 1..3 and rows 4..5.
    v1.prepare("INSERT INTO documents (id, name, last_seq) VALUES (7, 'doc', 5)").run()
    v1.prepare('INSERT INTO snapshots (doc_id, seq, data) VALUES (7, 3, ?)').run(foldUpdates(null, updates.slice(0, 3)))
    v1.prepare('INSERT INTO updates (doc_id, seq, data) VALUES (7, 4, ?), (7, 5, ?)').run(updates[3]!, updates[4]!)
    v1.close()

    const storage = open()
    const stored = await storage.load('doc')
    expect(stored.lastSeq).toBe(5)
    expect(textOf(stored.snapshot, stored.updates)).toBe('hello')
    await storage.append([{ document: 'doc', update: edits('hello!')[5]! }])
    expect((await storage.load('doc')).lastSeq).toBe(6)
    await storage.compact('doc', foldUpdates)
    await storage.append([{ document: 'doc', update: edits('hello!?')[6]! }])
    const after = await storage.load('doc')
    expect(after.lastSeq).toBe(7)
    expect(textOf(after.snapshot, after.updates)).toBe('hello!?')
    expect(storage.integrityCheck()).toBe('ok')
    await close(storage)

    const raw = new Database(file, { readonly: true })
    expect(raw.pragma('user_version', { simple: true })).toBe(2)
    expect(raw.prepare("SELECT name FROM pragma_table_info('documents')").pluck().all()).toEqual(['id', 'name'])
    raw.close()
  })

  it('keeps every acknowledged batch when the writing process is killed (kill -9)', async () => {
    // Kills after 20 to 400 acknowledgements (this seed: 258, 21, 220, 393), so they land before
    // and after compactions and WAL checkpoints, at a different instant of the write loop each time.
    const random = seededRandom(1)
    for (const seed of [1, 2, 3, 4]) {
      const crashFile = join(temporaryDirectory(), 'crash.db')
      const killAfter = 20 + Math.floor(random() * 381)
      const acknowledged = await appendUntilKilled(crashFile, seed, killAfter)
      expect(acknowledged, `seed ${seed}`).toBeGreaterThanOrEqual(killAfter)

      const storage = new SqliteStorage({ file: crashFile })
      opened.push(storage)
      expect(storage.integrityCheck(), `seed ${seed}`).toBe('ok')
      const batchesPerDocument: number[] = []
      for (const document of ['a', 'b']) {
        const { snapshot, updates } = await storage.load(document)
        const batches = [...textOf(snapshot, updates).matchAll(/<(\d+)>/g)].map((match) => Number(match[1]))
        // Every acknowledged batch is there, in order, and nothing after a gap.
        expect(batches.length, `seed ${seed}, document ${document}`).toBeGreaterThanOrEqual(acknowledged)
        expect(batches, `seed ${seed}, document ${document}`).toEqual(batches.map((_, index) => index + 1))
        batchesPerDocument.push(batches.length)
      }
      // One append wrote both documents: a batch is in both or in neither.
      expect(batchesPerDocument[0], `seed ${seed}`).toBe(batchesPerDocument[1])
    }
  })
})

const CHILD = fileURLToPath(new URL('./test-fixtures/append-until-killed.mjs', import.meta.url))

/**
 * Runs the child writer and SIGKILLs it as soon as it has acknowledged `killAfter` batches, while it
 * keeps writing. Resolves with the last acknowledged batch the parent read.
 */
async function appendUntilKilled(file: string, seed: number, killAfter: number): Promise<number> {
  const child = spawn(process.execPath, ['--conditions=@tandem/source', CHILD, file, String(seed)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  let acknowledged = 0
  try {
    await withDeadline(
      (async () => {
        for await (const line of createInterface({ input: child.stdout })) {
          acknowledged = Number(line)
          if (acknowledged >= killAfter) {
            child.kill('SIGKILL')
            return
          }
        }
        throw new Error(`the child exited after ${acknowledged} batches:\n${stderr}`)
      })(),
      30_000,
      `waiting for ${killAfter} acknowledgements (seed ${seed})`,
    )
  } finally {
    child.kill('SIGKILL')
    await exited
  }
  return acknowledged
}

function withDeadline<T>(promise: Promise<T>, milliseconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${milliseconds} ms`)), milliseconds)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}
