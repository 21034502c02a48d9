/**
 * What every Tandem store implements. The server only ever talks to this interface; the composition
 * root (the CLI) picks the concrete adapter.
 *
 * Model: per document, an append-only log of Yjs updates, each with a sequence number that grows
 * per document, plus at most one current snapshot that stands for every update up to `snapshotSeq`.
 * The same model serves a single embedded SQLite file and a store shared by several server
 * processes (PostgreSQL): appends from different processes interleave safely, and compaction
 * deletes only the rows it folded.
 */
export interface StorageAdapter {
  /**
   * The document's snapshot (if any) and every update logged after it, in append order.
   * A document never written reads as `{ snapshot: null, updates: [], lastSeq: 0 }`.
   */
  load(document: string): Promise<StoredDocument>

  /**
   * Appends every entry in ONE transaction (group commit), in the given order, and resolves only
   * once that transaction is committed at the adapter's durability level. Either all entries are
   * stored or none is. An empty batch resolves at once.
   */
  append(entries: readonly AppendEntry[]): Promise<void>

  /**
   * Optional: `append` in two steps, for a store that can write before it makes durable. The
   * entries are written (one transaction, all or none) before the call returns: a later `load`
   * sees them and they survive the server process being killed. The promise resolves once they are
   * committed at the adapter's durability level (with 'full': they survive a power cut too), or
   * rejects if that failed (the caller then appends them again; Yjs updates are idempotent). A
   * write that fails throws, having stored nothing.
   *
   * The server broadcasts an update once it is written and acknowledges it once it is durable, so
   * the fsync is paid off the event loop and shared by every write made while one is running.
   */
  appendNow?(entries: readonly AppendEntry[]): Promise<void>

  /**
   * Folds the document's snapshot and logged updates into a new snapshot with `fold`, then, in one
   * transaction, writes that snapshot and deletes exactly the rows it folded. Updates appended while
   * the fold runs are kept. A crash at any instant leaves either the old rows or the new snapshot,
   * never neither. With `version`, the new snapshot is also kept as a named version. With `state`,
   * that state is the new snapshot: `fold` is not called and the log is not read.
   */
  compact(document: string, fold: Fold, options?: CompactOptions): Promise<CompactionResult>

  /** Cheap counts used to decide when to compact. */
  stats(document: string): Promise<DocumentStats>

  /** Every document with a snapshot or at least one update. */
  listDocuments(): Promise<string[]>

  /** Removes the document's log, snapshot and versions. */
  delete(document: string): Promise<void>

  /** Named versions kept by `compact(..., { version })`, oldest first. */
  listVersions(document: string): Promise<VersionInfo[]>

  /** The full state stored as a version, or null if there is no such version. */
  loadVersion(document: string, versionId: number): Promise<Uint8Array | null>

  /** Flushes and releases the store. Calls after `close()` reject. */
  close(): Promise<void>
}

export interface StoredDocument {
  readonly snapshot: Uint8Array | null
  readonly updates: readonly Uint8Array[]
  /** Highest sequence number the snapshot and updates cover together; 0 for an empty document. */
  readonly lastSeq: number
}

export interface AppendEntry {
  readonly document: string
  readonly update: Uint8Array
}

/** Turns a snapshot plus the updates after it into one update holding the same document. */
export type Fold = (snapshot: Uint8Array | null, updates: readonly Uint8Array[]) => Uint8Array

export interface CompactOptions {
  /** Keep the folded snapshot as a named version as well. */
  readonly version?: string
  /**
   * The document's whole state, already folded by the caller: written as the snapshot in place of
   * the current snapshot and every update logged so far, which are not read. The caller vouches
   * that it holds all of them. The server passes its live document (every logged update was applied
   * to it or came from it), which costs one encoding instead of rebuilding the document from the
   * log; only a process that is the document's sole writer can vouch for that.
   */
  readonly state?: Uint8Array
}

export interface CompactionResult {
  /** How many logged updates were folded and deleted (0: nothing to do, no snapshot written). */
  readonly foldedUpdates: number
  /** Size of the snapshot written, or of the existing one when nothing was folded. */
  readonly snapshotBytes: number
  /** Set when `options.version` was given. */
  readonly versionId?: number
}

export interface DocumentStats {
  readonly updates: number
  readonly updateBytes: number
  readonly snapshotBytes: number
}

export interface VersionInfo {
  readonly id: number
  readonly label: string
  readonly createdAt: Date
  readonly bytes: number
}

/**
 * How hard a commit is pushed to disk before `append` resolves: 'full' survives a power cut,
 * 'normal' a killed process (the last commits may be lost on a power cut), 'off' leaves it to the OS.
 */
export type Durability = 'full' | 'normal' | 'off'
