import { foldUpdates, type StorageAdapter, type StoredDocument } from '@tandem/storage'
import type { Logger } from './logger.js'
import { readableStored } from './readable-stored.js'
import { PersistenceQueue } from './persistence-queue.js'
import { TandemError } from '@tandem/protocol'
import { Room, type RoomHost, type RoomLimits } from './room.js'
import type { RoomMember } from './room-member.js'

/** See `needsCompaction`. */
const COMPACT_ROWS_FACTOR = 20

export interface RoomRegistryOptions {
  readonly storage: StorageAdapter
  readonly logger: Logger
  readonly roomIdleMs: number
  readonly compactAfterUpdates: number
  readonly awarenessTimeoutMs: number
  /** A room quiet this long (plus 100 ms per KB of state) drops its Y.Doc (Room.hibernate); 0: never. */
  readonly hibernateAfterMs?: number
  /** Per-document limits; defaults: 64 MiB documents, 1 MiB pending. */
  readonly roomLimits?: RoomLimits
  /** Documents loaded at once; a join beyond it is refused with TOO_MANY_DOCUMENTS. */
  readonly maxDocuments?: number
}

/**
 * Loads each document once (concurrent joiners share one load), batches every room's work to the
 * end of the tick, group-commits it, and unloads rooms that stay empty once all they hold is stored.
 */
export class RoomRegistry implements RoomHost {
  private readonly rooms = new Map<string, Room>()
  private readonly loading = new Map<string, Promise<Room>>()
  private readonly idleTimers = new Map<Room, NodeJS.Timeout>()
  private readonly compacting = new Map<string, Promise<void>>()
  private readonly dirty = new Set<Room>()
  /**
   * Rooms loaded while an earlier room of the same document still had unwritten updates (it was
   * discarded while storage was failing): their live document may lack rows written later, so
   * their compactions fold the log instead of storing the live state.
   */
  private readonly loadedBehindWrites = new WeakSet<Room>()
  /** Documents discarded since their last load: their next load validates every stored piece. */
  private readonly checkOnLoad = new Set<string>()
  private flushQueued = false
  private readonly persistence: PersistenceQueue
  private readonly awarenessSweep: NodeJS.Timeout
  private readonly hibernationSweep: NodeJS.Timeout | null
  readonly roomLimits: RoomLimits

  constructor(private readonly options: RoomRegistryOptions) {
    this.roomLimits = options.roomLimits ?? { maxDocumentBytes: 64 * 1024 * 1024, maxPendingBytes: 1024 * 1024 }
    this.persistence = new PersistenceQueue(options.storage, options.logger)
    // One sweep for every room rather than a timer per room.
    this.awarenessSweep = setInterval(() => {
      const before = Date.now() - options.awarenessTimeoutMs
      for (const room of this.rooms.values()) room.expireAwareness(before)
    }, Math.min(5_000, options.awarenessTimeoutMs / 3))
    this.awarenessSweep.unref()
    const hibernateAfterMs = options.hibernateAfterMs ?? 0
    this.hibernationSweep =
      hibernateAfterMs > 0
        ? setInterval(() => {
            for (const room of this.rooms.values()) room.hibernate(hibernateAfterMs)
          }, Math.min(1_000, hibernateAfterMs))
        : null
    this.hibernationSweep?.unref()
  }

  get size(): number {
    return this.rooms.size
  }

  get healthy(): boolean {
    return this.persistence.healthy
  }

  get(name: string): Room | undefined {
    return this.rooms.get(name)
  }

  /**
   * Loads the room if needed and adds `member` to it, unless `stillWanted()` has turned false
   * meanwhile (the connection closed during the load). Resolves to the room joined, or null.
   */
  async join(name: string, member: RoomMember, stillWanted: () => boolean): Promise<Room | null> {
    for (;;) {
      const room = await this.acquire(name)
      // The room may have been unloaded between the load and this continuation: load it again.
      if (this.rooms.get(name) !== room) continue
      if (!stillWanted()) {
        if (room.size === 0) this.vacated(room)
        return null
      }
      this.cancelUnload(room)
      room.join(member)
      return room
    }
  }

  /** The loaded room for `name`, loading it if needed. */
  private async acquire(name: string): Promise<Room> {
    const loaded = this.rooms.get(name)
    if (loaded !== undefined) return loaded
    let loading = this.loading.get(name)
    if (loading === undefined) {
      // Idle rooms still loaded count too: they unload within roomIdleMs.
      if (this.rooms.size + this.loading.size >= (this.options.maxDocuments ?? Number.POSITIVE_INFINITY)) {
        throw new TandemError('TOO_MANY_DOCUMENTS', `${this.rooms.size} documents loaded`)
      }
      loading = this.load(name)
      this.loading.set(name, loading)
    }
    return loading
  }

  // RoomHost

  scheduleFlush(room: Room): void {
    this.dirty.add(room)
    if (this.flushQueued) return
    this.flushQueued = true
    // setImmediate, not queueMicrotask or setTimeout(0): it runs after every socket read of this
    // event-loop turn, which is what makes a burst into one batch.
    setImmediate(this.flush)
  }

  persist(room: Room, update: Uint8Array): void {
    this.persistence.add(room.name, update)
  }

  afterCommit(callback: () => void): void {
    this.persistence.afterCommit(callback)
  }

  vacated(room: Room): void {
    this.cancelUnload(room)
    const timer = setTimeout(() => void this.unload(room), this.options.roomIdleMs)
    this.idleTimers.set(room, timer)
  }

  now(): number {
    return Date.now()
  }

  discard(room: Room, reason: string): void {
    if (this.rooms.get(room.name) !== room) return
    this.options.logger.error({ doc: room.name, reason }, 'document discarded; it reloads from storage')
    this.checkOnLoad.add(room.name)
    this.cancelUnload(room)
    this.dirty.delete(room)
    this.rooms.delete(room.name)
    room.destroy()
  }

  /** Flushes every room and waits until everything is stored (used at shutdown and by tests). */
  async settle(): Promise<void> {
    this.flush()
    await this.persistence.idle()
  }

  /** Stores what is pending, unloads every room and stops timers. The storage stays open. */
  async close(): Promise<void> {
    clearInterval(this.awarenessSweep)
    if (this.hibernationSweep !== null) clearInterval(this.hibernationSweep)
    await Promise.allSettled(this.loading.values())
    await this.settle()
    await Promise.allSettled(this.compacting.values())
    for (const timer of this.idleTimers.values()) clearTimeout(timer)
    this.idleTimers.clear()
    for (const room of this.rooms.values()) room.destroy()
    this.rooms.clear()
  }

  private readonly flush = (): void => {
    this.flushQueued = false
    const dirty = [...this.dirty]
    this.dirty.clear()
    for (const room of dirty) room.flush()
    const committed = this.persistence.flush()
    for (const room of dirty) room.deliver()
    for (const room of dirty) {
      // Asked again once committed: a compaction that ran meanwhile may have folded this log already.
      if (this.needsCompaction(room)) void committed.then(() => (this.needsCompaction(room) ? this.compact(room.name) : undefined))
    }
  }

  private async load(name: string): Promise<Room> {
    try {
      const behind = this.persistence.hasPending(name)
      const room = this.roomFrom(name, await this.options.storage.load(name))
      if (behind || this.persistence.hasPending(name)) this.loadedBehindWrites.add(room)
      this.rooms.set(name, room)
      return room
    } finally {
      this.loading.delete(name)
    }
  }

  /**
   * The room of a loaded document. Should Yjs throw on what was stored (a row damaged on disk, or
   * one a relay-ahead rule admitted by mistake), the document is built again without the pieces
   * that fail `validateUpdate`, each logged once, rather than failing every load for every client.
   * Only then, or when the document was discarded since its last load, are the pieces validated:
   * checking them all on every load cost S4's cold sync of a 485 KB document 8 ms of its 40. A
   * document stored as one piece is served as stored, unread, until a read of it fails
   * (`Room.unreadable` discards it, and the reload checks it).
   */
  private roomFrom(name: string, stored: StoredDocument): Room {
    if (this.checkOnLoad.delete(name)) return this.roomWithout(name, readableStored(stored))
    try {
      return new Room(name, stored, this)
    } catch (error) {
      const checked = readableStored(stored)
      if (checked.unreadable.length === 0) throw error
      return this.roomWithout(name, checked)
    }
  }

  /** The room of what could be read; each piece left out is logged once the room is built. */
  private roomWithout(name: string, { stored, unreadable }: ReturnType<typeof readableStored>): Room {
    const room = new Room(name, stored, this)
    for (const { piece, bytes, reason } of unreadable) {
      this.options.logger.error({ doc: name, piece, bytes, reason }, 'stored update unreadable; the document is loaded without it')
    }
    return room
  }

  private cancelUnload(room: Room): void {
    const timer = this.idleTimers.get(room)
    if (timer === undefined) return
    clearTimeout(timer)
    this.idleTimers.delete(room)
  }

  private async unload(room: Room): Promise<void> {
    this.idleTimers.delete(room)
    if (room.size > 0 || this.rooms.get(room.name) !== room) return
    await this.settle()
    // Someone may have joined while we waited for the store.
    if (room.size > 0 || this.idleTimers.has(room) || this.persistence.hasPending(room.name)) return
    this.rooms.delete(room.name)
    room.destroy()
    this.options.logger.debug({ doc: room.name }, 'room unloaded')
  }

  /**
   * Whether to fold a room's log now. Folding costs about as much as the whole document, so doing
   * it every N updates costs more and more as the document grows (the profile of a busy document
   * showed a fifth of the server's time in compaction). It waits for `compactAfterUpdates` updates
   * AND for the log to weigh as much as the snapshot: each compaction is then paid for by as many
   * new bytes as it rewrites, and the store stays within about twice the document. A log of many
   * tiny updates is folded anyway past COMPACT_ROWS_FACTOR times the threshold, so loads stay quick.
   */
  private needsCompaction(room: Room): boolean {
    const { compactAfterUpdates } = this.options
    if (room.logLength < compactAfterUpdates) return false
    return room.logBytes >= room.snapshotBytes || room.logLength >= compactAfterUpdates * COMPACT_ROWS_FACTOR
  }

  /**
   * Folds the log into a snapshot, after the commit, one compaction per document at a time. The
   * snapshot is the room's live state: every logged row of the document was loaded into it or came
   * from it, so encoding it (a few ms for a large document) replaces rebuilding a Y.Doc from the
   * snapshot and log (about ten times that; it was 7% of the server's time under a stream of
   * writes). Updates applied but not yet written are in it too; their rows land after the snapshot
   * and apply as no-ops on load.
   */
  private compact(name: string): Promise<void> {
    let running = this.compacting.get(name)
    if (running === undefined) {
      running = this.runCompaction(name).finally(() => this.compacting.delete(name))
      this.compacting.set(name, running)
    }
    return running
  }

  private async runCompaction(name: string): Promise<void> {
    try {
      const live = this.rooms.get(name)
      const state = live === undefined || this.loadedBehindWrites.has(live) ? undefined : live.state()
      const result = await this.options.storage.compact(name, foldUpdates, state === undefined ? {} : { state })
      const room = this.rooms.get(name)
      if (room !== undefined && result.foldedUpdates > 0) {
        const left = Math.max(0, room.logLength - result.foldedUpdates)
        room.logBytes = room.logLength === 0 ? 0 : Math.round((room.logBytes * left) / room.logLength)
        room.logLength = left
        room.snapshotBytes = result.snapshotBytes
      }
      this.options.logger.debug({ doc: name, folded: result.foldedUpdates, bytes: result.snapshotBytes }, 'compacted')
    } catch (error) {
      this.options.logger.error({ err: error, doc: name }, 'compaction failed')
    }
  }
}
