import { assertAppendEntries, StorageClosedError } from './adapter-guards.js'
import type {
  AppendEntry,
  CompactionResult,
  CompactOptions,
  DocumentStats,
  Fold,
  StorageAdapter,
  StoredDocument,
  VersionInfo,
} from './storage-adapter.js'

interface LoggedUpdate {
  readonly seq: number
  readonly data: Uint8Array
}

interface StoredVersion {
  readonly id: number
  readonly label: string
  readonly createdAt: number
  readonly data: Uint8Array
}

interface MemoryDocument {
  snapshot: Uint8Array | null
  snapshotSeq: number
  updates: LoggedUpdate[]
  /** The last sequence number handed out; the snapshot and the log together cover 1..lastSeq. */
  lastSeq: number
  versions: StoredVersion[]
}

/**
 * A {@link StorageAdapter} held in memory, for tests. Bytes are copied on the way in and out, so
 * neither a caller mutating its buffer nor one mutating what it loaded can change what is stored,
 * just as with a real store.
 */
export class MemoryStorage implements StorageAdapter {
  readonly #documents = new Map<string, MemoryDocument>()
  #nextVersionId = 1
  #closed = false

  async load(document: string): Promise<StoredDocument> {
    this.#assertOpen()
    const stored = this.#documents.get(document)
    if (stored === undefined) return { snapshot: null, updates: [], lastSeq: 0 }
    return {
      snapshot: stored.snapshot === null ? null : stored.snapshot.slice(),
      updates: stored.updates.map((update) => update.data.slice()),
      lastSeq: stored.lastSeq,
    }
  }

  async append(entries: readonly AppendEntry[]): Promise<void> {
    this.#assertOpen()
    // Validating the whole batch first is what makes the append all-or-nothing here.
    assertAppendEntries(entries)
    for (const { document, update } of entries) {
      const stored = this.#documentFor(document)
      stored.lastSeq += 1
      stored.updates.push({ seq: stored.lastSeq, data: update.slice() })
    }
  }

  async compact(document: string, fold: Fold, options: CompactOptions = {}): Promise<CompactionResult> {
    this.#assertOpen()
    const stored = this.#documents.get(document)
    if (stored === undefined) return { foldedUpdates: 0, snapshotBytes: 0 }
    if (stored.updates.length === 0) {
      const snapshotBytes = stored.snapshot?.byteLength ?? 0
      if (options.version === undefined || stored.snapshot === null) return { foldedUpdates: 0, snapshotBytes }
      return { foldedUpdates: 0, snapshotBytes, versionId: this.#keepVersion(stored, options.version, stored.snapshot) }
    }

    const folded = stored.updates.slice()
    const lastSeq = stored.lastSeq
    const snapshotSeq = stored.snapshotSeq
    const snapshot = (options.state ?? fold(stored.snapshot?.slice() ?? null, folded.map((update) => update.data.slice()))).slice()

    // The fold may have called back into the store: a delete, or another compaction, means the
    // rows this fold read are gone, and writing its snapshot would resurrect or regress the document.
    if (this.#documents.get(document) !== stored || stored.snapshotSeq !== snapshotSeq) {
      return { foldedUpdates: 0, snapshotBytes: stored.snapshot?.byteLength ?? 0 }
    }
    stored.snapshot = snapshot
    stored.snapshotSeq = lastSeq
    // Only the rows that were folded go; anything appended while the fold ran stays.
    stored.updates = stored.updates.filter((update) => update.seq > lastSeq)
    const result = { foldedUpdates: folded.length, snapshotBytes: snapshot.byteLength }
    if (options.version === undefined) return result
    return { ...result, versionId: this.#keepVersion(stored, options.version, snapshot) }
  }

  async stats(document: string): Promise<DocumentStats> {
    this.#assertOpen()
    const stored = this.#documents.get(document)
    if (stored === undefined) return { updates: 0, updateBytes: 0, snapshotBytes: 0 }
    let updateBytes = 0
    for (const update of stored.updates) updateBytes += update.data.byteLength
    return { updates: stored.updates.length, updateBytes, snapshotBytes: stored.snapshot?.byteLength ?? 0 }
  }

  async listDocuments(): Promise<string[]> {
    this.#assertOpen()
    const names: string[] = []
    for (const [name, stored] of this.#documents) {
      if (stored.snapshot !== null || stored.updates.length > 0) names.push(name)
    }
    return names.sort()
  }

  async delete(document: string): Promise<void> {
    this.#assertOpen()
    this.#documents.delete(document)
  }

  async listVersions(document: string): Promise<VersionInfo[]> {
    this.#assertOpen()
    const versions = this.#documents.get(document)?.versions ?? []
    return versions.map(({ id, label, createdAt, data }) => ({
      id,
      label,
      createdAt: new Date(createdAt),
      bytes: data.byteLength,
    }))
  }

  async loadVersion(document: string, versionId: number): Promise<Uint8Array | null> {
    this.#assertOpen()
    const version = this.#documents.get(document)?.versions.find(({ id }) => id === versionId)
    return version === undefined ? null : version.data.slice()
  }

  async close(): Promise<void> {
    this.#assertOpen()
    this.#closed = true
    this.#documents.clear()
  }

  #documentFor(document: string): MemoryDocument {
    let stored = this.#documents.get(document)
    if (stored === undefined) {
      stored = { snapshot: null, snapshotSeq: 0, updates: [], lastSeq: 0, versions: [] }
      this.#documents.set(document, stored)
    }
    return stored
  }

  /** `data` is already a private copy. */
  #keepVersion(stored: MemoryDocument, label: string, data: Uint8Array): number {
    const id = this.#nextVersionId++
    stored.versions.push({ id, label, createdAt: Date.now(), data })
    return id
  }

  #assertOpen(): void {
    if (this.#closed) throw new StorageClosedError('MemoryStorage')
  }
}
