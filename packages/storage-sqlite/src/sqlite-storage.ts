import { mkdir } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import Database from 'better-sqlite3'
import { assertAppendEntries, StorageClosedError } from '@tandem/storage'
import type {
  AppendEntry,
  CompactionResult,
  CompactOptions,
  DocumentStats,
  Durability,
  Fold,
  StorageAdapter,
  StoredDocument,
  VersionInfo,
} from '@tandem/storage'
import { migrate } from './schema.js'
import { prepareStatements, type LoggedRow, type Statements } from './statements.js'
import { WalIndex } from './wal-index.js'
import { MIN_SYNC_INTERVAL_MS, WalSync } from './wal-sync.js'

export interface SqliteStorageOptions {
  /** Path of the database file. Its directory must exist; `SqliteStorage.open` creates it. */
  readonly file: string
  /**
   * How hard a commit is pushed to disk before `append` resolves. 'full' (default) survives power
   * loss; 'normal' survives a killed process but may lose the last commits on power loss; 'off'
   * leaves it to the OS.
   */
  readonly durability?: Durability
  /**
   * At 'full': the shortest time between the starts of two fsyncs of the WAL (default
   * {@link MIN_SYNC_INTERVAL_MS}). Writes made meanwhile share the next one.
   */
  readonly minSyncIntervalMs?: number
  /** SQLite's page cache for this connection, in KiB (default {@link DEFAULT_CACHE_KIB}). */
  readonly cacheKiB?: number
  /**
   * How many pages the WAL takes before it is checkpointed into the database file (default
   * {@link CHECKPOINT_PAGES}); see {@link SqliteStorage} for when that happens.
   */
  readonly checkpointPages?: number
}

/**
 * SQLite's own default page cache (better-sqlite3 builds with 16 MB). The server appends to the
 * log and reads a document when it loads it; the OS keeps the file's pages cached anyway, so a
 * larger private cache mostly holds a second copy of what was just written: with 16 MB it was
 * 4-8 MB of S3's RSS, 2-4 KiB per document (2,000 documents of 2 KB).
 */
export const DEFAULT_CACHE_KIB = 2048

/**
 * SQLite's own threshold for checkpointing the WAL into the database file (`wal_autocheckpoint`),
 * kept, but checked after the write rather than inside it (see {@link SqliteStorage}).
 */
export const CHECKPOINT_PAGES = 1000

/**
 * SQLite checkpoints by itself, inside a commit, only past this many times our threshold: a
 * backstop, should our checkpoints keep failing.
 */
const BACKSTOP_FACTOR = 4

/**
 * SQLite's `synchronous` setting per durability. 'full' is NORMAL plus our own fsync of the WAL
 * after every write ({@link WalSync}): the same guarantee as FULL, grouped and off the event loop.
 */
const SYNCHRONOUS: Record<Durability, string> = { full: 'NORMAL', normal: 'NORMAL', off: 'OFF' }

/**
 * How long a statement waits for another connection's lock (a second process, a backup tool)
 * before failing with SQLITE_BUSY.
 */
const BUSY_TIMEOUT_MS = 5_000

/** What a compaction read: the document's snapshot and the log rows after it, in order. */
interface CompactionInput {
  readonly docId: number
  readonly snapshotSeq: number
  readonly snapshot: Uint8Array | null
  readonly rows: readonly LoggedRow[]
}

/** Runs `body` inside a transaction and returns what it returns. */
type InTransaction = <T>(body: () => T) => T

/**
 * The default, embedded {@link StorageAdapter}: one SQLite file in WAL mode, written through
 * better-sqlite3. Statements run synchronously on the calling thread; each write is one
 * transaction, written before the call returns and committed at the configured durability before
 * the returned promise resolves (at 'full' the fsync runs in the thread pool, see {@link WalSync}).
 *
 * Checkpoints (copying the WAL into the database file) run after the write, in a later turn of the
 * event loop, not inside the commit that fills the WAL as SQLite's own `wal_autocheckpoint` does;
 * the WAL's frames are counted in its index ({@link WalIndex}).
 * A checkpoint fsyncs the WAL and the database file (about 2 ms here); inside the commit it held up
 * the broadcast of the update that happened to cross the threshold, once every 8 s of S1's
 * 100 edits/s, on the event loop's thread either way. After the write the server has already sent
 * that update on.
 */
export class SqliteStorage implements StorageAdapter {
  /** Creates the file's directory if needed, then opens the store. */
  static async open(options: SqliteStorageOptions): Promise<SqliteStorage> {
    await mkdir(dirname(options.file), { recursive: true })
    return new SqliteStorage(options)
  }

  readonly #db: Database.Database
  readonly #statements: Statements
  readonly #read: InTransaction
  readonly #write: InTransaction
  /** Makes writes durable at 'full'; null at 'normal' and 'off' (and for an in-memory database). */
  readonly #walSync: WalSync | null
  /** Pages after which the WAL is checkpointed. */
  readonly #checkpointPages: number
  /** The WAL's frame count; null for an in-memory database (no WAL) or once it cannot be read. */
  #walIndex: WalIndex | null
  #checkpointQueued = false
  #checkpoints = 0
  #checkpointFailures = 0
  #closed = false

  constructor(options: SqliteStorageOptions) {
    const durability = options.durability ?? 'full'
    const cacheKiB = options.cacheKiB ?? DEFAULT_CACHE_KIB
    const checkpointPages = options.checkpointPages ?? CHECKPOINT_PAGES
    if (typeof options.file !== 'string' || options.file === '') {
      throw new TypeError('SqliteStorage: options.file must be a non-empty path')
    }
    if (!Object.hasOwn(SYNCHRONOUS, durability)) {
      throw new TypeError(`SqliteStorage: options.durability must be 'full', 'normal' or 'off', not '${durability}'`)
    }
    if (!Number.isInteger(cacheKiB) || cacheKiB < 0) {
      throw new TypeError(`SqliteStorage: options.cacheKiB must be a whole number of KiB, not ${cacheKiB}`)
    }
    if (!Number.isInteger(checkpointPages) || checkpointPages < 1) {
      throw new TypeError(`SqliteStorage: options.checkpointPages must be a whole number of pages above 0, not ${checkpointPages}`)
    }

    const db = new Database(options.file)
    try {
      const journalMode = db.pragma('journal_mode = WAL', { simple: true })
      if (journalMode !== 'wal' && !db.memory) {
        throw new Error(`SqliteStorage: ${options.file} cannot use WAL mode (journal_mode is ${String(journalMode)})`)
      }
      db.pragma(`synchronous = ${SYNCHRONOUS[durability]}`)
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`)
      db.pragma(`cache_size = ${-cacheKiB}`)
      db.pragma(`wal_autocheckpoint = ${checkpointPages * BACKSTOP_FACTOR}`)
      migrate(db)
    } catch (error) {
      db.close()
      throw error
    }
    this.#db = db
    this.#statements = prepareStatements(db)
    // Reads run in a (deferred) read transaction, so a write by another process is seen whole or
    // not at all. Writes take the write lock up front (IMMEDIATE): a deferred transaction that
    // reads first and then writes can fail with SQLITE_BUSY if another connection wrote meanwhile.
    const run = db.transaction((body: () => unknown) => body())
    this.#read = run as InTransaction
    this.#write = run.immediate as InTransaction
    this.#walSync = durability === 'full' && !db.memory ? new WalSync(`${resolve(db.name)}-wal`, options.minSyncIntervalMs ?? MIN_SYNC_INTERVAL_MS) : null
    this.#checkpointPages = checkpointPages
    this.#walIndex = db.memory ? null : new WalIndex(resolve(db.name))
  }

  /** How many checkpoints this store has run after its writes (SQLite's backstop not counted). */
  get checkpoints(): number {
    return this.#checkpoints
  }

  /** How many of those failed (the next write tries again). */
  get checkpointFailures(): number {
    return this.#checkpointFailures
  }

  /** How many times the WAL has been fsync'd (durability 'full'); several writes share one. */
  get walSyncs(): number {
    return this.#walSync?.count ?? 0
  }

  /** SQLite's page cache for this connection in KiB, as SQLite reports it. */
  get cacheKiB(): number {
    return -(this.#db.pragma('cache_size', { simple: true }) as number)
  }

  /** The database file's path. */
  get file(): string {
    return this.#db.name
  }

  async load(document: string): Promise<StoredDocument> {
    this.#assertOpen()
    return this.#read(() => this.#loadRows(document))
  }

  async append(entries: readonly AppendEntry[]): Promise<void> {
    this.#assertOpen()
    assertAppendEntries(entries)
    if (entries.length === 0) return
    this.#commit(() => this.#appendRows(entries))
    await this.#durable()
  }

  appendNow(entries: readonly AppendEntry[]): Promise<void> {
    this.#assertOpen()
    assertAppendEntries(entries)
    if (entries.length === 0) return Promise.resolve()
    this.#commit(() => this.#appendRows(entries))
    return this.#durable()
  }

  async compact(document: string, fold: Fold, options: CompactOptions = {}): Promise<CompactionResult> {
    this.#assertOpen()
    const { state } = options
    if (state !== undefined) {
      if (!(state instanceof Uint8Array)) throw new TypeError('compact: options.state must be a Uint8Array')
      const result = this.#commit(() => this.#replaceLog(document, state, options.version))
      if (result.foldedUpdates > 0 || result.versionId !== undefined) await this.#durable()
      return result
    }
    const input = this.#read(() => this.#readForCompaction(document))
    if (input === undefined) return { foldedUpdates: 0, snapshotBytes: 0 }
    const snapshotBytes = input.snapshot?.byteLength ?? 0
    if (input.rows.length === 0) {
      if (options.version === undefined || input.snapshot === null) return { foldedUpdates: 0, snapshotBytes }
      const { version } = options
      const versionId = this.#commit(() => this.#keepSnapshotAsVersion(document, input, version))
      await this.#durable()
      if (versionId === undefined) return { foldedUpdates: 0, snapshotBytes }
      return { foldedUpdates: 0, snapshotBytes, versionId }
    }
    // The fold runs outside any transaction: it may take a while, and appends must not wait for it.
    const snapshot = fold(input.snapshot, input.rows.map((row) => bytes(row.data)))
    const result = this.#commit(() => this.#writeCompaction(document, input, snapshot, options.version))
    await this.#durable()
    return result
  }

  async stats(document: string): Promise<DocumentStats> {
    this.#assertOpen()
    return this.#read(() => this.#statsRows(document))
  }

  async listDocuments(): Promise<string[]> {
    this.#assertOpen()
    return this.#statements.listDocuments.all()
  }

  async delete(document: string): Promise<void> {
    this.#assertOpen()
    this.#commit(() => this.#deleteRows(document))
    await this.#durable()
  }

  async listVersions(document: string): Promise<VersionInfo[]> {
    this.#assertOpen()
    return this.#statements.listVersions.all(document).map(({ id, label, createdAt, bytes }) => ({
      id,
      label,
      createdAt: new Date(createdAt),
      bytes,
    }))
  }

  async loadVersion(document: string, versionId: number): Promise<Uint8Array | null> {
    this.#assertOpen()
    const data = this.#statements.versionData.get(document, versionId)
    return data === undefined ? null : bytes(data)
  }

  /** Runs SQLite's own consistency check: 'ok', or the problems it found, one per line. */
  integrityCheck(): string {
    this.#assertOpen()
    const rows = this.#db.pragma('integrity_check') as Array<{ integrity_check: string }>
    return rows.map((row) => row.integrity_check).join('\n')
  }

  async close(): Promise<void> {
    this.#assertOpen()
    this.#closed = true
    await this.#walSync?.close()
    this.#walIndex?.close()
    try {
      // Folds the WAL back into the main file and empties it, so the file alone is a full copy.
      this.#db.pragma('wal_checkpoint(TRUNCATE)')
    } finally {
      this.#db.close()
    }
  }

  /** Runs `body` in a write transaction, then looks at the WAL in the next turn (see {@link SqliteStorage}). */
  #commit<T>(body: () => T): T {
    const result = this.#write(body)
    if (this.#walIndex !== null && !this.#checkpointQueued) {
      this.#checkpointQueued = true
      setImmediate(this.#checkpointIfDue)
    }
    return result
  }

  /**
   * PASSIVE: copies what it can without waiting for readers or blocking writers (no other
   * connection writes here). SQLite starts the WAL over at the next write once all of it is copied.
   * Should the WAL's index be unreadable, SQLite's own checkpoint takes over at the same threshold.
   */
  readonly #checkpointIfDue = (): void => {
    this.#checkpointQueued = false
    if (this.#closed || this.#walIndex === null) return
    const pending = this.#walIndex.pendingFrames()
    if (pending === undefined) {
      this.#walIndex = null
      this.#db.pragma(`wal_autocheckpoint = ${this.#checkpointPages}`)
      return
    }
    if (pending < this.#checkpointPages) return
    try {
      this.#db.pragma('wal_checkpoint(PASSIVE)')
      this.#checkpoints++
    } catch {
      // A disk that fails here fails the writes too, and they report it; the next write tries again.
      this.#checkpointFailures++
    }
  }

  // The methods below run inside #read or #write.

  #loadRows(document: string): StoredDocument {
    const docId = this.#statements.documentId.get(document)
    if (docId === undefined) return { snapshot: null, updates: [], lastSeq: 0 }
    const snapshot = this.#statements.snapshot.get(docId)
    const snapshotSeq = snapshot?.seq ?? 0
    // Rows at or below the snapshot's seq are folded into it (none should remain; never load one twice).
    const rows = this.#statements.updatesAfter.all(docId, snapshotSeq)
    return {
      snapshot: snapshot === undefined ? null : bytes(snapshot.data),
      updates: rows.map((row) => bytes(row.data)),
      lastSeq: rows.at(-1)?.seq ?? snapshotSeq,
    }
  }

  #statsRows(document: string): DocumentStats {
    const docId = this.#statements.documentId.get(document)
    if (docId === undefined) return { updates: 0, updateBytes: 0, snapshotBytes: 0 }
    const { updates, updateBytes } = this.#statements.logStats.get(docId)!
    return { updates, updateBytes, snapshotBytes: this.#statements.snapshotBytes.get(docId) ?? 0 }
  }

  /** Rows are numbered on from the document's last seq, in order; a new document gets its row first. */
  #appendRows(entries: readonly AppendEntry[]): void {
    const byDocument = new Map<string, Uint8Array[]>()
    for (const { document, update } of entries) {
      const updates = byDocument.get(document)
      if (updates === undefined) byDocument.set(document, [update])
      else updates.push(update)
    }
    for (const [document, updates] of byDocument) {
      const known = this.#statements.documentId.get(document)
      const id = known ?? Number(this.#statements.insertDocument.run(document).lastInsertRowid)
      let seq = known === undefined ? 0 : this.#lastSeq(id)
      for (const update of updates) this.#statements.insertUpdate.run(id, ++seq, update)
    }
  }

  /**
   * The highest seq the document's snapshot and log cover. Compaction deletes rows only up to the
   * snapshot's seq, so this never goes back; the larger of the two is taken even so, because a row
   * below the snapshot's seq is never loaded and numbering on from one would lose what follows.
   */
  #lastSeq(docId: number, snapshotSeq = this.#statements.snapshotSeq.get(docId) ?? 0): number {
    return Math.max(this.#statements.lastLoggedSeq.get(docId) ?? 0, snapshotSeq)
  }

  #readForCompaction(document: string): CompactionInput | undefined {
    const docId = this.#statements.documentId.get(document)
    if (docId === undefined) return undefined
    const snapshot = this.#statements.snapshot.get(docId)
    const snapshotSeq = snapshot?.seq ?? 0
    return {
      docId,
      snapshotSeq,
      snapshot: snapshot === undefined ? null : bytes(snapshot.data),
      rows: this.#statements.updatesAfter.all(docId, snapshotSeq),
    }
  }

  #writeCompaction(
    document: string,
    input: CompactionInput,
    snapshot: Uint8Array,
    version: string | undefined,
  ): CompactionResult {
    if (!this.#unchangedSince(document, input)) {
      return { foldedUpdates: 0, snapshotBytes: this.#statements.snapshotBytes.get(input.docId) ?? 0 }
    }
    const lastSeq = input.rows.at(-1)!.seq
    this.#statements.upsertSnapshot.run(input.docId, lastSeq, snapshot)
    // Exactly the folded rows: anything appended while the fold ran has a higher seq and stays.
    this.#statements.deleteUpdatesUpTo.run(input.docId, lastSeq)
    const result = { foldedUpdates: input.rows.length, snapshotBytes: snapshot.byteLength }
    if (version === undefined) return result
    return { ...result, versionId: this.#insertVersion(input.docId, version, snapshot) }
  }

  /** `compact` with a state from the caller: it replaces the snapshot and every row logged so far. */
  #replaceLog(document: string, state: Uint8Array, version: string | undefined): CompactionResult {
    const docId = this.#statements.documentId.get(document)
    if (docId === undefined) return { foldedUpdates: 0, snapshotBytes: 0 }
    const snapshotSeq = this.#statements.snapshotSeq.get(docId) ?? 0
    const lastSeq = this.#lastSeq(docId, snapshotSeq)
    if (lastSeq === snapshotSeq) {
      const snapshotBytes = this.#statements.snapshotBytes.get(docId) ?? 0
      if (version === undefined || snapshotBytes === 0) return { foldedUpdates: 0, snapshotBytes }
      return { foldedUpdates: 0, snapshotBytes, versionId: this.#insertVersion(docId, version, bytes(this.#statements.snapshot.get(docId)!.data)) }
    }
    this.#statements.upsertSnapshot.run(docId, lastSeq, state)
    const foldedUpdates = this.#statements.deleteUpdatesUpTo.run(docId, lastSeq).changes
    const result = { foldedUpdates, snapshotBytes: state.byteLength }
    if (version === undefined) return result
    return { ...result, versionId: this.#insertVersion(docId, version, state) }
  }

  /** Nothing to fold: the current snapshot becomes the version. */
  #keepSnapshotAsVersion(document: string, input: CompactionInput, version: string): number | undefined {
    if (input.snapshot === null || !this.#unchangedSince(document, input)) return undefined
    return this.#insertVersion(input.docId, version, input.snapshot)
  }

  /**
   * False when the document was deleted, or compacted by someone else, after `input` was read:
   * the rows it read are gone, and writing a snapshot from them would resurrect or regress it.
   */
  #unchangedSince(document: string, input: CompactionInput): boolean {
    return (
      this.#statements.documentId.get(document) === input.docId &&
      (this.#statements.snapshotSeq.get(input.docId) ?? 0) === input.snapshotSeq
    )
  }

  #insertVersion(docId: number, label: string, data: Uint8Array): number {
    return Number(this.#statements.insertVersion.run(docId, label, Date.now(), data).lastInsertRowid)
  }

  #deleteRows(document: string): void {
    const docId = this.#statements.documentId.get(document)
    if (docId === undefined) return
    for (const statement of this.#statements.deleteDocument) statement.run(docId)
  }

  /** Resolves once every write so far is committed at the configured durability. */
  #durable(): Promise<void> {
    return this.#walSync?.request() ?? Promise.resolve()
  }

  #assertOpen(): void {
    if (this.#closed) throw new StorageClosedError('SqliteStorage')
  }
}

/**
 * better-sqlite3 returns Buffers; callers get plain Uint8Arrays, as from every other adapter.
 * (A Buffer's `slice` returns a view, not a copy, which would surprise code written for Uint8Array.)
 */
function bytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
}
