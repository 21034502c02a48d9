import * as Y from 'yjs'
import { ywebsocket, TandemError, type AwarenessEntry } from '@tandem/protocol'
import type { StoredDocument } from '@tandem/storage'
import type { Outbound, RoomMember } from './room-member.js'
import { RoomAwareness } from './room-awareness.js'
import { validateUpdate } from './validate-update.js'

/** What a room needs from the server around it. */
export interface RoomHost {
  /** Ask for `flush()` to run at the end of this tick (updates of one tick are batched). */
  scheduleFlush(room: Room): void
  /** Store an update that changed the document. */
  persist(room: Room, update: Uint8Array): void
  /** Run `callback` once everything persisted so far is committed. */
  afterCommit(callback: () => void): void
  /** The last member left. */
  vacated(room: Room): void
  now(): number
}

/** Origin of the transaction that loads stored state: it is neither broadcast nor stored again. */
export const STORAGE_ORIGIN = Symbol('storage')

const EMPTY_STATE_VECTOR = new Uint8Array([0])

/**
 * One loaded document: its Y.Doc, its awareness and its members.
 *
 * Inbound updates are queued and applied at the end of the tick, one transaction per sending
 * member, so a burst of N small updates becomes one broadcast message (and one stored row) per
 * sender instead of N. Each transaction carries its member as origin: the update handler skips
 * that member when broadcasting and credits it the acknowledgements once the commit lands.
 */
export class Room {
  readonly doc: Y.Doc
  readonly awareness = new RoomAwareness()
  private readonly members = new Map<RoomMember, number>()
  /** Updates received this tick, grouped by sender, in arrival order. */
  private inbound = new Map<RoomMember, Uint8Array[]>()
  /** Broadcasts produced by this tick's flush, sent by `deliver()` once the commit has started. */
  private outbox: Array<{ message: Outbound; except: unknown }> = []
  /** The full state, encoded on demand to answer sync step 1 and kept until the next change. */
  private encodedState: Uint8Array | null = null
  /** Updates in the log since the last snapshot (drives compaction). */
  logLength: number
  private flushScheduled = false

  constructor(
    readonly name: string,
    stored: StoredDocument,
    private readonly host: RoomHost,
  ) {
    this.doc = new Y.Doc({ gc: true })
    this.doc.transact(() => {
      if (stored.snapshot !== null) Y.applyUpdate(this.doc, stored.snapshot)
      for (const update of stored.updates) Y.applyUpdate(this.doc, update)
    }, STORAGE_ORIGIN)
    this.logLength = stored.updates.length
    this.doc.on('update', this.onDocumentUpdate)
  }

  get size(): number {
    return this.members.size
  }

  has(member: RoomMember): boolean {
    return this.members.has(member)
  }

  /** Adds a member and greets it: our state vector (so it sends what we lack), then who is here. */
  join(member: RoomMember): void {
    this.members.set(member, this.host.now())
    member.send({ inner: ywebsocket.encodeMessage({ type: 'sync-step1', stateVector: Y.encodeStateVector(this.doc) }) })
    const present = this.awareness.snapshot()
    if (present !== null) member.send({ inner: ywebsocket.encodeMessage({ type: 'awareness', update: present }) })
  }

  leave(member: RoomMember): void {
    if (!this.members.delete(member)) return
    this.inbound.delete(member)
    if (this.awareness.removeMember(member, this.host.now())) this.requestFlush()
    if (this.members.size === 0) this.host.vacated(this)
  }

  /**
   * Answers a sync step 1 with everything the member lacks. Updates queued this tick are not in the
   * answer; they reach the member with the end-of-tick broadcast, after they are committed.
   */
  syncStep1(member: RoomMember, stateVector: Uint8Array): void {
    this.encodedState ??= Y.encodeStateAsUpdate(this.doc)
    const update = isEmptyStateVector(stateVector) ? this.encodedState : Y.diffUpdate(this.encodedState, stateVector)
    member.send({ inner: ywebsocket.encodeMessage({ type: 'sync-step2', update }) })
  }

  /**
   * Queues an update (sync step 2 or update) from a member; it is applied at the end of the tick.
   * Returns false when it is dropped because the member is read-only (its clients answer our
   * sync step 1 with a step 2 even so, which must not cost them their connection).
   */
  receiveUpdate(member: RoomMember, update: Uint8Array): boolean {
    if (member.readOnly) return false
    validateUpdate(update)
    let queue = this.inbound.get(member)
    if (queue === undefined) this.inbound.set(member, (queue = []))
    queue.push(update)
    this.requestFlush()
    return true
  }

  receiveAwareness(member: RoomMember, entries: readonly AwarenessEntry[]): void {
    const joinedAt = this.members.get(member)
    if (joinedAt === undefined) return
    if (this.awareness.apply(member, joinedAt, entries, this.host.now())) this.requestFlush()
  }

  queryAwareness(member: RoomMember): void {
    const present = this.awareness.snapshot()
    if (present !== null) member.send({ inner: ywebsocket.encodeMessage({ type: 'awareness', update: present }) })
  }

  /** Drops awareness states not renewed since `before`. */
  expireAwareness(before: number): void {
    if (this.awareness.expire(before, this.host.now())) this.requestFlush()
  }

  /**
   * End of tick, first half: apply the queued updates, one transaction per sender; the update
   * handler persists each resulting update and queues its broadcast.
   */
  flush(): void {
    this.flushScheduled = false
    this.applyInbound()
  }

  /**
   * End of tick, second half, after the group commit has started (with SQLite: has finished):
   * send the queued update broadcasts, then this tick's awareness changes as one message.
   */
  deliver(): void {
    const outbox = this.outbox
    this.outbox = []
    for (const { message, except } of outbox) this.broadcast(message, except)
    const changes = this.awareness.takeChanges()
    if (changes !== null) this.broadcast({ inner: ywebsocket.encodeMessage({ type: 'awareness', update: changes }) }, null)
  }

  destroy(): void {
    this.doc.off('update', this.onDocumentUpdate)
    this.doc.destroy()
    this.members.clear()
    this.inbound.clear()
    this.outbox = []
    this.encodedState = null
  }

  private applyInbound(): void {
    if (this.inbound.size === 0) return
    const inbound = this.inbound
    this.inbound = new Map()
    for (const [member, updates] of inbound) {
      if (!this.members.has(member)) continue
      try {
        this.doc.transact(() => {
          for (const update of updates) Y.applyUpdate(this.doc, update)
        }, member)
      } catch (error) {
        member.reject(new TandemError('INVALID_UPDATE', error instanceof Error ? error.message : String(error)))
        continue
      }
      // Acknowledge once everything up to and including these updates is committed; updates that
      // changed nothing are acknowledged too (what they carry is already stored or committing).
      const count = updates.length
      this.host.afterCommit(() => member.acknowledge(count))
    }
  }

  private readonly onDocumentUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === STORAGE_ORIGIN) return
    this.encodedState = null
    this.logLength++
    this.host.persist(this, update)
    this.outbox.push({ message: { inner: ywebsocket.encodeMessage({ type: 'sync-update', update }) }, except: origin })
  }

  private broadcast(message: Outbound, except: unknown): void {
    for (const member of this.members.keys()) {
      if (member !== except) member.send(message)
    }
  }

  private requestFlush(): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    this.host.scheduleFlush(this)
  }
}

const isEmptyStateVector = (stateVector: Uint8Array): boolean =>
  stateVector.length === 1 && stateVector[0] === EMPTY_STATE_VECTOR[0]
