import * as Y from 'yjs'
import { TandemError, type AwarenessEntry } from '@tandem/protocol'
import type { StoredDocument } from '@tandem/storage'
import { outbound, type Outbound, type RoomMember } from './room-member.js'
import { RoomAwareness } from './room-awareness.js'
import { ClientOwnership } from './client-ownership.js'
import { validateUpdate, type UpdateShape } from './validate-update.js'

/** Per-document limits (config `limits`). */
export interface RoomLimits {
  /** Soft cap: once the document holds this much, further writes are refused. */
  readonly maxDocumentBytes: number
  /** Updates waiting for missing predecessors (Yjs `pendingStructs`/`pendingDs`). */
  readonly maxPendingBytes: number
}

/**
 * Awareness clocks above this are refused: y-protocols only takes a state with a higher clock, so
 * a clock at 2^53-1 would pin a state forever (and our +1 on removal would lose precision).
 * Honest clients count up from 0, one per change.
 */
export const MAX_AWARENESS_CLOCK = 2 ** 52

/** A member skipped by broadcasts while its send buffer was full, and what it has missed. */
interface Behind {
  /** The document's state vector when it was skipped: it has everything below it except `missed`. */
  readonly stateVector: Uint8Array
  /** Updates of the tick it was first skipped in (already inside `stateVector`). */
  readonly missed: Uint8Array[]
}

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
  /**
   * The live document no longer matches what is stored (Yjs threw halfway through an update that
   * passed validation), or what is stored cannot be read: drop the room without storing anything
   * more; the next joiner reloads it, checking every stored piece.
   */
  discard(room: Room, reason: string): void
  readonly roomLimits: RoomLimits
  now(): number
}

/** Origin of the transaction that loads stored state: it is neither broadcast nor stored again. */
export const STORAGE_ORIGIN = Symbol('storage')

const EMPTY_STATE_VECTOR = new Uint8Array([0])
/** The encoding of an empty document: no structs, no deletions. */
const EMPTY_UPDATE = new Uint8Array([0, 0])

/**
 * A hibernating room takes at most this many updates without waking (see `appendAsleep`) before
 * a read of the whole state merges them; the next write wakes it. Each read of the whole state merges them into
 * the encoding, so a room written this often is cheaper with its Y.Doc.
 */
export const ASLEEP_TAIL_LIMIT = 64

/**
 * What a room holds while nothing is queued, or no member is behind: one shared empty map,
 * read-only by type, replaced by a map of its own on the first write (an empty Map is about 0.2 KB,
 * and a server full of quiet documents has one room each).
 */
const NO_INBOUND: ReadonlyMap<RoomMember, Uint8Array[]> = new Map()
const NO_ONE_BEHIND: ReadonlyMap<RoomMember, Behind> = new Map()

/**
 * Awareness changes go out at most this often per document. Each broadcast is one write per
 * member, so when 2,000 clients join within a second (each announcing itself) one message per tick
 * would cost millions of socket writes; a change after a quiet spell still goes out at the next tick.
 */
export const AWARENESS_INTERVAL_MS = 40

/**
 * In a large room the interval grows with the members: 0.1 ms each (100 ms at 1,000, 200 ms at
 * 2,000). One write to a socket costs the server about 20-40 µs (most of it the kernel's), so a
 * room whose presence changes all the time (2,000 clients renew their state every 15 s: over a
 * hundred renewals a second) costs at most about a third of a core, instead of more than a whole
 * one at a fixed 40 ms; fewer, larger messages carry the same states.
 */
export const AWARENESS_MS_PER_MEMBER = 0.1

/** The shortest time between two awareness broadcasts in a room of `members`. */
export const awarenessInterval = (members: number): number => Math.max(AWARENESS_INTERVAL_MS, members * AWARENESS_MS_PER_MEMBER)

/**
 * One loaded document: its Y.Doc, its awareness and its members.
 *
 * Inbound updates are queued and applied at the end of the tick, one transaction per sending
 * member, so a burst of N small updates becomes one broadcast message (and one stored row) per
 * sender instead of N. Each transaction carries its member as origin: the update handler skips
 * that member when broadcasting and credits it the acknowledgements once the commit lands.
 */
export class Room {
  /** The live document, or null while the room hibernates (see `hibernate`). */
  private liveDoc: Y.Doc | null = null
  /** State vector of the hibernating document, kept so joiners are greeted without a Y.Doc. */
  private hibernatedStateVector: Uint8Array | null = null
  /** The hibernating document's clock per client (`hibernatedStateVector` decoded), made when first needed. */
  private hibernatedClocks: Map<number, number> | null = null
  /** Updates written while hibernating, not yet merged into `encodedState` (see `appendAsleep`). */
  private tail: Uint8Array[] = []
  /**
   * The hibernating encoding may hold structs or deletions waiting for a predecessor (Yjs's
   * pendingStructs/pendingDs, which `Y.encodeStateAsUpdate` keeps): a write could complete them,
   * and only Yjs would store and send what it completes, so writes wake the room. Unknown, and so
   * assumed, for a document loaded as one stored piece until it has been awake and hibernated.
   */
  private mayHoldPending = false
  /** When an update was last applied (or the document woken): hibernation waits for quiet. */
  private lastWriteAt: number
  readonly awareness = new RoomAwareness()
  private readonly members = new Map<RoomMember, number>()
  /** Which member introduced which Yjs client IDs (forgery guard). */
  private readonly ownership = new ClientOwnership()
  /** Members skipped by broadcasts because their send buffer is full (backpressure). */
  private behind = NO_ONE_BEHIND
  /** About what the encoded document weighs: stored bytes plus every update since (never shrinks while loaded). */
  private approximateBytes = 0
  /** Set while a transaction that threw unwinds, so its update event is neither stored nor sent. */
  private failedOrigin: RoomMember | null = null
  /** Updates received this tick, grouped by sender, in arrival order. */
  private inbound = NO_INBOUND
  /** The shape of the tick's update while it is the only one queued (see `relayAhead`). */
  private soleShape: UpdateShape | null = null
  /** An update stored and queued for broadcast before it was applied: `deliver()` applies it after the broadcast. */
  private ahead: { member: RoomMember; update: Uint8Array } | null = null
  /** Origin of the transaction that applies `ahead`: its update event is neither stored nor sent again. */
  private aheadOrigin: RoomMember | null = null
  /** Broadcasts produced by this tick's flush, sent by `deliver()` once the commit has started. */
  private outbox: Array<{ except: unknown; update: Uint8Array }> = []
  /** The full state, encoded on demand to answer sync step 1 and kept until the next change. */
  private encodedState: Uint8Array | null = null
  /** Updates in the log since the last snapshot (drives compaction). */
  logLength: number
  /** Bytes of those updates, and of the snapshot they follow (compaction weighs one against the other). */
  logBytes: number
  snapshotBytes: number
  private flushScheduled = false
  /** Trailing awareness broadcast, while one went out less than `awarenessInterval` ago. */
  private awarenessTimer: NodeJS.Timeout | null = null
  private lastAwarenessAt = Number.NEGATIVE_INFINITY
  /** `awareness.snapshot()` as a message, reused (framing included) until the snapshot changes. */
  private present: { snapshot: Uint8Array; message: Outbound } | null = null

  constructor(
    readonly name: string,
    stored: StoredDocument,
    private readonly host: RoomHost,
  ) {
    this.lastWriteAt = host.now()
    this.logLength = stored.updates.length
    this.logBytes = stored.updates.reduce((sum, update) => sum + update.byteLength, 0)
    this.snapshotBytes = stored.snapshot?.byteLength ?? 0
    this.approximateBytes = (stored.snapshot?.byteLength ?? 0) + stored.updates.reduce((sum, update) => sum + update.byteLength, 0)
    // A document stored as one piece (a snapshot, or a single update) is served as stored: readers
    // get it without a Y.Doc being built, and the first write wakes it. Several pieces are folded
    // by building the document now.
    const pieces = stored.updates.length + (stored.snapshot === null ? 0 : 1)
    if (pieces <= 1) {
      this.encodedState = stored.snapshot ?? stored.updates[0] ?? EMPTY_UPDATE
      this.mayHoldPending = pieces === 1
    } else {
      const doc = this.wake()
      doc.transact(() => {
        if (stored.snapshot !== null) Y.applyUpdate(doc, stored.snapshot)
        for (const update of stored.updates) Y.applyUpdate(doc, update)
      }, STORAGE_ORIGIN)
    }
  }

  /** The live Y.Doc; a hibernating room is woken (its encoded state applied to a new Y.Doc). */
  get doc(): Y.Doc {
    return this.liveDoc ?? this.wake()
  }

  get hibernating(): boolean {
    return this.liveDoc === null
  }

  /**
   * Drops the Y.Doc of a document that has been quiet, keeping only its encoded state: a Y.Doc
   * weighs 10-13x its encoding in heap. Readers are still answered (Y.diffUpdate on the encoding);
   * writes that extend the document as they stand are taken asleep (`appendAsleep`), any other
   * write wakes it, which costs about one apply of the state, so the bigger the document, the
   * longer the quiet it waits for (`quietMs` plus 100 ms per KB stored). Returns whether it did.
   */
  hibernate(quietMs: number): boolean {
    const doc = this.liveDoc
    if (doc === null || this.inbound.size > 0 || this.outbox.length > 0 || this.ahead !== null || this.behind.size > 0) return false
    // Weighed by what storage holds, not by encoding the document: a busy room is asked every
    // second, and encoding a large one each time was 2% of the server's time under a stream of writes.
    if (this.host.now() - this.lastWriteAt < quietMs + (this.snapshotBytes + this.logBytes) / 10) return false
    this.encodedState ??= Y.encodeStateAsUpdate(doc)
    this.hibernatedStateVector = Y.encodeStateVector(doc)
    this.hibernatedClocks = null
    this.mayHoldPending = doc.store.pendingStructs !== null || doc.store.pendingDs !== null
    doc.off('update', this.onDocumentUpdate)
    doc.destroy()
    this.liveDoc = null
    return true
  }

  /** Whether the document already holds every clock range in `ranges` (triples from validateUpdate). */
  private knowsAll(ranges: readonly number[]): boolean {
    if (ranges.length === 0) return true
    if (this.liveDoc !== null) return false
    const clocks = this.asleepClocks()
    for (let i = 0; i < ranges.length; i += 3) {
      if (ranges[i + 2]! > (clocks.get(ranges[i]!) ?? 0)) return false
    }
    return true
  }

  private asleepClocks(): Map<number, number> {
    this.hibernatedClocks ??= Y.decodeStateVector(this.stateVector())
    return this.hibernatedClocks
  }

  /** The document's clock for `client` (the next clock it expects from it), awake or not. */
  private clock(client: number): number {
    return this.liveDoc !== null ? Y.getState(this.liveDoc.store, client) : (this.asleepClocks().get(client) ?? 0)
  }

  private wake(): Y.Doc {
    const doc = new Y.Doc({ gc: true })
    // state() merges what was written asleep into the encoding first, which then stays valid.
    if (this.encodedState !== null || this.tail.length > 0) Y.applyUpdate(doc, this.state(), STORAGE_ORIGIN)
    doc.on('update', this.onDocumentUpdate)
    this.liveDoc = doc
    this.hibernatedStateVector = null
    this.hibernatedClocks = null
    this.lastWriteAt = this.host.now()
    return doc
  }

  get size(): number {
    return this.members.size
  }

  has(member: RoomMember): boolean {
    return this.members.has(member)
  }

  /** Adds a member and greets it: our state vector (so it sends what we lack), then who is here. */
  join(member: RoomMember): void {
    // The value is the member's join mark (see RoomAwareness.mark), not a time.
    this.members.set(member, this.awareness.mark())
    if (this.liveDoc === null && this.hibernatedStateVector === null && this.hibernatedClocks === null) {
      // Deriving the state vector of a document loaded as one stored piece reads the whole update
      // (tens of ms for a big one): answer the joiner's own sync step 1 first, greet it right after.
      setImmediate(() => {
        if (!this.members.has(member)) return
        try {
          this.greet(member)
        } catch (error) {
          this.unreadable(error)
        }
      })
    } else {
      this.greet(member)
    }
    this.sendPresent(member)
  }

  /** Our sync step 1: the joiner answers with everything we lack. */
  private greet(member: RoomMember): void {
    member.send(outbound({ type: 'sync-step1', stateVector: this.stateVector() }))
  }

  private stateVector(): Uint8Array {
    if (this.liveDoc !== null) return Y.encodeStateVector(this.liveDoc)
    this.hibernatedStateVector ??=
      this.hibernatedClocks !== null ? Y.encodeStateVector(this.hibernatedClocks) : Y.encodeStateVectorFromUpdate(this.encodedState ?? EMPTY_UPDATE)
    return this.hibernatedStateVector
  }

  leave(member: RoomMember): void {
    if (!this.members.delete(member)) return
    // Its updates queued this tick stay queued: they were accepted, and a leave (the multiplexed
    // Close for a document, sent by a provider's destroy()) often arrives in the same socket read
    // as the last edit. Dropping them here lost that edit.
    this.ownership.release(member)
    if (this.behind.has(member)) this.ownBehind().delete(member)
    if (this.awareness.removeMember(member, this.host.now())) this.requestFlush()
    if (this.members.size === 0) this.host.vacated(this)
  }

  /**
   * Answers a sync step 1 with everything the member lacks. Updates queued this tick are not in the
   * answer; they reach the member with the end-of-tick broadcast, after they are committed.
   */
  syncStep1(member: RoomMember, stateVector: Uint8Array): void {
    let update: Uint8Array
    try {
      // state() merges writes taken asleep into the stored piece: a read of it too.
      const state = this.state()
      update = isEmptyStateVector(stateVector) ? state : Y.diffUpdate(state, stateVector)
    } catch (error) {
      this.unreadable(error)
      return
    }
    member.send(outbound({ type: 'sync-step2', update }))
  }

  /**
   * The whole document as one update (kept until the next change). It holds every update applied
   * or loaded so far, including those still being written: compaction stores it as the snapshot.
   */
  state(): Uint8Array {
    if (this.liveDoc === null) {
      if (this.tail.length > 0) {
        this.encodedState = Y.mergeUpdates([this.encodedState ?? EMPTY_UPDATE, ...this.tail])
        this.tail = []
      }
      this.encodedState ??= EMPTY_UPDATE
    }
    this.encodedState ??= Y.encodeStateAsUpdate(this.doc)
    return this.encodedState
  }

  /**
   * Queues an update (sync step 2 or update) from a member; it is applied at the end of the tick.
   * Returns false when it is dropped because the member is read-only (its clients answer our
   * sync step 1 with a step 2 even so, which must not cost them their connection).
   */
  receiveUpdate(member: RoomMember, update: Uint8Array): boolean {
    if (member.readOnly) return false
    // Everything that can refuse the update runs before it is queued: a refusal (a TandemError,
    // thrown to the session) leaves the document, the broadcast and the store untouched.
    const shape = validateUpdate(update)
    const { ranges, deletes } = shape
    // Every client answers our sync step 1 with a step 2, mostly bringing nothing; that must not
    // wake a hibernating document. It is acknowledged like any update (after the next commit).
    if (deletes === 0 && this.knowsAll(ranges)) {
      this.host.afterCommit(() => member.acknowledge(1))
      this.requestFlush()
      return true
    }
    const { maxDocumentBytes } = this.host.roomLimits
    if (this.approximateBytes >= maxDocumentBytes || update.byteLength > maxDocumentBytes) {
      throw new TandemError('DOCUMENT_TOO_LARGE', `about ${this.approximateBytes} bytes stored`)
    }
    this.claimClients(member, ranges)
    if (this.inbound === NO_INBOUND) this.inbound = new Map()
    let queue = this.inbound.get(member)
    if (queue === undefined) (this.inbound as Map<RoomMember, Uint8Array[]>).set(member, (queue = []))
    queue.push(update)
    this.soleShape = this.inbound.size === 1 && queue.length === 1 ? shape : null
    this.requestFlush()
    return true
  }

  receiveAwareness(member: RoomMember, entries: readonly AwarenessEntry[]): void {
    const joinedAt = this.members.get(member)
    if (joinedAt === undefined) return
    // Dropped silently (y-websocket clients echo every state they hear): clocks that would pin a
    // state, and IDs another live member has announced as its own.
    const own = entries.filter(
      (entry) => entry.clock <= MAX_AWARENESS_CLOCK && !this.ownership.ownedByOther(entry.clientId, member, 'announced'),
    )
    if (own.length === 0) return
    if (this.awareness.apply(member, joinedAt, own, this.host.now())) this.requestFlush()
    // Only what the awareness took as this member's own: a stale echo of a client that has left
    // must not make the echoing member its owner, or that client could not come back.
    for (const entry of own) if (this.awareness.liveOwner(entry.clientId) === member) this.ownership.claim(entry.clientId, member, 'announced')
  }

  queryAwareness(member: RoomMember): void {
    this.sendPresent(member)
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
    const shape = this.soleShape
    this.soleShape = null
    if (this.liveDoc === null && this.appendAsleep()) return
    if (shape !== null && this.relayAhead(shape)) return
    this.applyInbound()
  }

  /**
   * Memory: a hibernating room takes the tick's updates without building a Y.Doc when each of
   * them extends the document as it stands (`extendsAsItStands`, as for `relayAhead`, checked
   * against the hibernated clocks, each update against those the tick's earlier ones leave) and
   * nothing waits in the encoding for a predecessor (`mayHoldPending`). Such an update integrates
   * wherever it is applied, and completes nothing, so it is stored, sent on, and kept in `tail`
   * until the next full read merges it into the encoding (`state()`, with Y.mergeUpdates); a
   * document mostly written by one client at a time (a note, a form) then never costs a Y.Doc.
   * Anything else, and more than `ASLEEP_TAIL_LIMIT` updates since the last merge, wakes the room.
   * All or nothing per tick.
   */
  private appendAsleep(): boolean {
    if (this.inbound.size === 0 || this.mayHoldPending) return false
    let count = this.tail.length
    for (const updates of this.inbound.values()) count += updates.length
    if (count > ASLEEP_TAIL_LIMIT) return false
    const clocks = this.asleepClocks()
    // The tick's updates are checked in order against the clocks they leave behind (`moved`),
    // and the document's clocks change only once all of them are taken.
    const moved = new Map<number, number>()
    const clockOf = (client: number): number => moved.get(client) ?? clocks.get(client) ?? 0
    for (const updates of this.inbound.values()) {
      for (const update of updates) {
        const shape = validateUpdate(update)
        if (!extendsAsItStands(shape, clockOf)) return false
        const { ranges } = shape
        for (let i = 0; i < ranges.length; i += 3) moved.set(ranges[i]!, ranges[i + 2]!)
      }
    }
    const inbound = this.inbound
    this.inbound = NO_INBOUND
    for (const [client, clock] of moved) clocks.set(client, clock)
    this.hibernatedStateVector = null
    this.lastWriteAt = this.host.now()
    for (const [member, updates] of inbound) {
      for (const received of updates) {
        // A copy: what was received is a view of the socket's read buffer, which it would keep alive.
        const update = received.slice()
        this.tail.push(update)
        this.record(update, member)
      }
      if (this.members.has(member)) this.host.afterCommit(() => member.acknowledge(updates.length))
    }
    return true
  }

  /**
   * Latency: the tick's only update, when it is certain to integrate as it stands, is stored and
   * broadcast as received and applied to the Y.Doc right after its broadcast (`deliver`), instead
   * of before it. Applying an edit took 0.17 ms of the 0.43 ms between its arrival and its first
   * write at 200 clients (S1), and on a VM whose idle vCPUs halt, every clients' wake-up waits
   * for that. Certain means: every struct is an item (`plainItems`: no GC or Skip, no parent given
   * by an ID), each client's structs start exactly at the document's clock for it (nothing known,
   * no gap), every origin is already in the document or an earlier struct of the same client in
   * this update, nothing is deleted, and nothing waits in the document for a predecessor. Such an
   * update leaves nothing pending and completes nothing pending, and Yjs emits the same structs;
   * anything else, and every tick with more than one update, takes `applyInbound`.
   */
  private relayAhead(shape: UpdateShape): boolean {
    const doc = this.liveDoc
    if (doc === null || this.inbound.size !== 1) return false
    const [entry] = this.inbound
    const [member, updates] = entry!
    if (updates.length !== 1) return false
    const store = doc.store
    // Structs or deletes waiting for a predecessor could be completed by this update, and the update
    // event would carry them too (they are stored only then): that event must not be dropped.
    if (store.pendingStructs !== null || store.pendingDs !== null) return false
    if (!extendsAsItStands(shape, (client) => Y.getState(store, client))) return false
    const update = updates[0]!
    this.inbound = NO_INBOUND
    this.lastWriteAt = this.host.now()
    this.ahead = { member, update }
    this.record(update, member)
    if (this.members.has(member)) this.host.afterCommit(() => member.acknowledge(1))
    return true
  }

  /**
   * Applies the update `relayAhead` stored and broadcast. Yjs may follow it with a transaction of
   * its own (origin null: a Y.Text's formatting clean-up after concurrent formatting), whose update
   * is stored and sent by the next end of tick, asked for here.
   */
  private applyAhead(member: RoomMember, update: Uint8Array): void {
    const doc = this.doc
    this.aheadOrigin = member
    try {
      doc.transact(() => Y.applyUpdate(doc, update), member)
    } catch (error) {
      this.abandon(member, error)
      return
    } finally {
      this.aheadOrigin = null
    }
    if (this.outbox.length > 0) this.requestFlush()
  }

  /**
   * End of tick, second half, after the group commit has started (with SQLite: has finished):
   * send the queued update broadcasts, then the awareness changes as one message (at most one
   * per `awarenessInterval`).
   */
  deliver(): void {
    const outbox = this.outbox
    this.outbox = []
    for (let i = 0; i < outbox.length; i++) {
      const { except, update } = outbox[i]!
      // Encoded only when someone will receive it: a lone writer's room sends nothing.
      if (this.members.size > (this.members.has(except as RoomMember) ? 1 : 0)) {
        this.broadcast(outbound({ type: 'sync-update', update }), except, outbox, i)
      }
    }
    const ahead = this.ahead
    if (ahead !== null) {
      this.ahead = null
      this.applyAhead(ahead.member, ahead.update)
    }
    if (!this.awareness.hasChanges || this.awarenessTimer !== null) return
    const wait = this.lastAwarenessAt + awarenessInterval(this.members.size) - this.host.now()
    if (wait <= 0) {
      this.broadcastAwareness()
      return
    }
    this.awarenessTimer = setTimeout(() => {
      this.awarenessTimer = null
      this.broadcastAwareness()
    }, wait)
  }

  private broadcastAwareness(): void {
    const changes = this.awareness.takeChanges()
    if (changes === null) return
    this.lastAwarenessAt = this.host.now()
    this.broadcast(outbound({ type: 'awareness', update: changes }), null)
  }

  /** Everyone's presence, to one member (a joiner, a query, a resync). */
  private sendPresent(member: RoomMember): void {
    const snapshot = this.awareness.snapshot()
    if (snapshot === null) return
    if (this.present?.snapshot !== snapshot) {
      this.present = { snapshot, message: outbound({ type: 'awareness', update: snapshot }) }
    }
    member.send(this.present.message)
  }

  destroy(): void {
    if (this.awarenessTimer !== null) clearTimeout(this.awarenessTimer)
    this.awarenessTimer = null
    this.present = null
    this.liveDoc?.off('update', this.onDocumentUpdate)
    this.liveDoc?.destroy()
    this.liveDoc = null
    this.hibernatedStateVector = null
    this.tail = []
    this.members.clear()
    this.inbound = NO_INBOUND
    this.soleShape = null
    this.ahead = null
    this.outbox = []
    this.encodedState = null
  }

  private applyInbound(): void {
    if (this.inbound.size === 0) return
    const inbound = this.inbound
    this.inbound = NO_INBOUND
    const doc = this.doc
    const store = doc.store
    this.lastWriteAt = this.host.now()
    for (const [member, updates] of inbound) {
      // A member that left this tick is still the origin (so nothing is echoed), but gets no ack.
      const present = this.members.has(member)
      const pendingBefore = savePending(store)
      try {
        doc.transact(() => {
          try {
            for (const update of updates) Y.applyUpdate(doc, update)
          } catch (error) {
            // Yjs emits the transaction's update even when it throws: mark it so it goes nowhere.
            this.failedOrigin = member
            throw error
          }
        }, member)
      } catch (error) {
        this.failedOrigin = null
        this.abandon(member, error)
        return
      }
      // Updates with clock gaps wait inside Yjs until their predecessors arrive, forever if they
      // never do, and ride along in every full-state encoding. Cap them per document.
      if (pendingBytes(store) > this.host.roomLimits.maxPendingBytes) {
        restorePending(store, pendingBefore)
        member.reject(new TandemError('PENDING_LIMIT', `more than ${this.host.roomLimits.maxPendingBytes} bytes waiting`))
        continue
      }
      // What only waits changes no struct and fires no update event, so nothing stored or sent
      // holds it: when these updates left something new waiting, store them as received, so that
      // their acknowledgement below still means stored (once completed, Yjs's update event stores
      // it again, a copy Yjs ignores), and make the encoding kept for readers and compaction, which
      // holds what waits, again (whatever stops waiting comes with an update event, which does).
      // (By content: Yjs re-encodes what still waits on every update, changed or not.)
      const structsWaiting = store.pendingStructs !== null && !sameBytes(store.pendingStructs.update, pendingBefore.structs?.update ?? null)
      const deletesWaiting = store.pendingDs !== null && !sameBytes(store.pendingDs, pendingBefore.ds)
      if (structsWaiting || deletesWaiting) {
        for (const update of updates) this.keep(update)
        this.encodedState = null
      }
      // Acknowledge once everything up to and including these updates is committed; updates that
      // changed nothing are acknowledged too (what they carry is already stored or committing).
      const count = updates.length
      if (present) this.host.afterCommit(() => member.acknowledge(count))
    }
  }

  private readonly onDocumentUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === STORAGE_ORIGIN) return
    if (origin !== null && origin === this.failedOrigin) return
    this.encodedState = null
    // Stored, counted and broadcast by relayAhead already.
    if (origin !== null && origin === this.aheadOrigin) return
    this.record(update, origin)
  }

  /** A change to the document: counted in the log, stored, and queued for broadcast to all but `except`. */
  private record(update: Uint8Array, except: unknown): void {
    this.keep(update)
    this.outbox.push({ except, update })
  }

  /** Counts an update in the log and stores it. */
  private keep(update: Uint8Array): void {
    this.logLength++
    this.logBytes += update.byteLength
    this.approximateBytes += update.byteLength
    this.host.persist(this, update)
  }

  private broadcast(message: Outbound, except: unknown, outbox: ReadonlyArray<{ except: unknown; update: Uint8Array }> = [], index = 0): void {
    for (const member of this.members.keys()) {
      if (member !== except && !this.skipCongested(member, outbox, index)) member.send(message)
    }
  }

  /**
   * Backpressure: a member whose send buffer is full gets no broadcasts (so a reader that stops
   * reading costs us nothing more) until it drains; then `resync` sends what it missed as one update.
   * `outbox[index..]` are the updates of this tick not yet sent to it.
   */
  private skipCongested(member: RoomMember, outbox: ReadonlyArray<{ except: unknown; update: Uint8Array }>, index: number): boolean {
    if (this.behind.has(member)) return true
    if (member.congested !== true || member.onDrained === undefined) return false
    const missed: Uint8Array[] = []
    for (let i = index; i < outbox.length; i++) if (outbox[i]!.except !== member) missed.push(outbox[i]!.update)
    // deliver() runs right after this tick's flush, so the state vector covers `missed`, except an
    // update relayed ahead (applied after the broadcast): resync then sends it twice, which Yjs ignores.
    this.ownBehind().set(member, { stateVector: Y.encodeStateVector(this.doc), missed })
    member.onDrained(() => this.resync(member))
    return true
  }

  /** A congested member drained: send exactly what it missed, then who is here now. */
  private resync(member: RoomMember): void {
    const behind = this.behind.get(member)
    if (behind === undefined || !this.members.has(member)) return
    this.ownBehind().delete(member)
    const update = Y.mergeUpdates([...behind.missed, Y.encodeStateAsUpdate(this.doc, behind.stateVector)])
    member.send(outbound({ type: 'sync-update', update }))
    this.sendPresent(member)
  }

  /**
   * Refuses new clock ranges for a client ID another live member owns (see ClientOwnership), then
   * records the IDs this update introduces. `ranges` are triples from validateUpdate.
   */
  private claimClients(member: RoomMember, ranges: readonly number[]): void {
    for (let i = 0; i < ranges.length; i += 3) {
      const client = ranges[i]!
      if (ranges[i + 2]! <= this.clock(client)) continue
      if (this.ownership.ownedByOther(client, member, 'written')) {
        throw new TandemError('CLIENT_ID_IN_USE', `client ${client}`)
      }
    }
    for (let i = 0; i < ranges.length; i += 3) {
      if (ranges[i + 2]! > this.clock(ranges[i]!)) this.ownership.claim(ranges[i]!, member, 'written')
    }
  }

  /**
   * Yjs threw halfway through updates that passed validation: what it applied is in the live
   * document but was neither stored nor sent. Close the sender and everyone else (they reconnect
   * and resync against the stored state) and let the registry drop this room.
   */
  private abandon(sender: RoomMember, error: unknown): void {
    sender.reject(new TandemError('INVALID_UPDATE', error instanceof Error ? error.message : String(error)))
    this.drop('document reloaded after a failed update', 'an update failed halfway', sender)
  }

  /**
   * A document loaded as one stored piece, served without reading it, turned out unreadable when
   * it was read (its state vector for a greeting, a diff for a sync step 1): close every member
   * (INTERNAL_ERROR, retryable) and let the registry reload it, leaving out what cannot be read.
   */
  private unreadable(error: unknown): void {
    this.drop('stored document unreadable; reloading it', `its stored state could not be read (${error instanceof Error ? error.message : String(error)})`)
  }

  /** Closes every member but `except` (INTERNAL_ERROR, retryable), takes nothing more, and has the registry discard the room. */
  private drop(closing: string, reason: string, except?: RoomMember): void {
    for (const member of this.members.keys()) {
      if (member !== except) member.reject(new TandemError('INTERNAL_ERROR', closing))
    }
    this.inbound = NO_INBOUND
    this.host.discard(this, reason)
  }

  private ownBehind(): Map<RoomMember, Behind> {
    if (this.behind === NO_ONE_BEHIND) this.behind = new Map()
    return this.behind as Map<RoomMember, Behind>
  }

  private requestFlush(): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    this.host.scheduleFlush(this)
  }
}

const isEmptyStateVector = (stateVector: Uint8Array): boolean =>
  stateVector.length === 1 && stateVector[0] === EMPTY_STATE_VECTOR[0]

type PendingState = { structs: { missing: Map<number, number>; update: Uint8Array } | null; ds: Uint8Array | null }

/** Yjs mutates `pendingStructs` in place, so keep a copy of its map. */
const savePending = (store: Y.Doc['store']): PendingState => ({
  structs: store.pendingStructs === null ? null : { missing: new Map(store.pendingStructs.missing), update: store.pendingStructs.update },
  ds: store.pendingDs,
})

const restorePending = (store: Y.Doc['store'], saved: PendingState): void => {
  store.pendingStructs = saved.structs
  store.pendingDs = saved.ds
}

/**
 * Whether an update integrates exactly as it stands into a document whose next clock per client is
 * `clockOf`, completing nothing and leaving nothing waiting: every struct an item placed by an
 * origin or under a root type (`plainItems`: no GC or Skip, no parent given by an ID, each client
 * listed once and with structs, nothing after the delete set), no deletions, each client's structs
 * starting exactly at the document's clock for it, and every origin already in the document or an
 * earlier struct of the same client (validateUpdate refuses one at or after the struct itself).
 * Whether something already waits in the document is the caller's to check.
 */
const extendsAsItStands = (shape: UpdateShape, clockOf: (client: number) => number): boolean => {
  if (!shape.plainItems || shape.deletes > 0) return false
  const { ranges, origins } = shape
  for (let i = 0; i < ranges.length; i += 3) if (ranges[i + 1] !== clockOf(ranges[i]!)) return false
  for (let i = 0; i < origins.length; i += 3) {
    if (origins[i + 2]! >= clockOf(origins[i + 1]!) && origins[i + 1] !== origins[i]) return false
  }
  return true
}

const sameBytes = (a: Uint8Array | null, b: Uint8Array | null): boolean =>
  a === b || (a !== null && b !== null && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b))

const pendingBytes = (store: Y.Doc['store']): number =>
  (store.pendingStructs?.update.byteLength ?? 0) + (store.pendingDs?.byteLength ?? 0)
