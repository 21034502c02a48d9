import { encodeAwarenessUpdate, type AwarenessEntry } from '@tandem/protocol'
import type { RoomMember } from './room-member.js'

interface ClientState {
  clock: number
  /** JSON text as received; 'null' once removed (the clock is kept so stale states cannot return). */
  state: string
  /**
   * The member whose client this is. Kept when the state is removed by the client itself or by
   * expiry (it may come back on the same connection); null once that member has left.
   */
  owner: RoomMember | null
  /**
   * Added to the owner's clocks. Nonzero once a returning client was relayed with a clock above its
   * own (see `returning` in `apply`): its later clocks must be shifted the same way, or each of its
   * next changes would look stale to us and be dropped until its own clock caught up.
   */
  clockOffset: number
  renewedAt: number
  /** When the state was removed (0 while live). */
  removedAt: number
  /** The `mark()` of its removal (0 while live). */
  removedMark: number
}

const REMOVED = 'null'

/**
 * What an awareness without clients, or without changes, holds: one shared empty collection,
 * read-only by type, replaced by a collection of its own on the first write. Most rooms of a
 * server full of quiet documents have no presence at all; two empty collections per room were
 * about 0.3 KB each of them.
 */
const NO_CLIENTS: ReadonlyMap<number, ClientState> = new Map()
const NO_CHANGES: ReadonlySet<number> = new Set()

/**
 * The awareness (presence) states of one document, relayed without parsing into objects.
 * Follows y-protocols' rules: a newer clock wins; an equal clock only counts to remove a state.
 * Each client ID belongs to the member that introduced it, so a member's states can be removed
 * when it leaves, and entries echoed back by other members (y-websocket clients re-send every
 * change they hear) are dropped silently.
 */
export class RoomAwareness {
  private clients = NO_CLIENTS
  /** Changes since the last flush, sent to every member as one message. */
  private changed = NO_CHANGES
  private marks = 0
  /** Every live state encoded, kept until the next change (joiners during a storm share it). */
  private encodedSnapshot: Uint8Array | null | undefined = undefined

  /**
   * A point in the order of this document's joins and removals. A member joins at a mark; a member
   * that joined after a removal cannot be echoing the removed state. (Counted rather than timed:
   * a join and a removal in the same millisecond must still be told apart.)
   */
  mark(): number {
    return ++this.marks
  }

  /**
   * Applies entries sent by `member` (which joined at `joinedMark`, see `mark()`); returns whether
   * anything changed.
   */
  apply(member: RoomMember, joinedMark: number, entries: readonly AwarenessEntry[], now: number): boolean {
    let changed = false
    for (const entry of entries) {
      const current = this.clients.get(entry.clientId)
      const owned = current !== undefined && current.owner === member
      if (current !== undefined && current.state !== REMOVED && !owned) continue
      let clock = entry.clock + (current !== undefined && owned ? current.clockOffset : 0)
      const newer = current === undefined || current.clock < clock
      const removal = current !== undefined && current.clock === clock && entry.state === REMOVED && current.state !== REMOVED
      // A client that reconnects re-sends its state with the clock it had, which our removal on its
      // disconnect has overtaken. A member that joined after the removal cannot be echoing the old
      // state, nor can the owner (a member only echoes other clients), so it is that client back:
      // relay it with a clock every peer accepts.
      const returning =
        current !== undefined &&
        !newer &&
        current.state === REMOVED &&
        entry.state !== REMOVED &&
        (owned || joinedMark > current.removedMark)
      if (returning) clock = current.clock + 1
      else if (!newer && !removal) continue
      this.ownClients().set(entry.clientId, {
        clock,
        state: entry.state,
        owner: member,
        clockOffset: clock - entry.clock,
        renewedAt: now,
        removedAt: entry.state === REMOVED ? now : 0,
        removedMark: entry.state === REMOVED ? this.mark() : 0,
      })
      this.touch(entry.clientId)
      changed = true
    }
    return changed
  }

  /** The member whose live (not removed) state `clientId` is, or null. */
  liveOwner(clientId: number): RoomMember | null {
    const client = this.clients.get(clientId)
    return client === undefined || client.state === REMOVED ? null : client.owner
  }

  /** Removes every state `member` owns; returns whether anything changed. */
  removeMember(member: RoomMember, now: number): boolean {
    let changed = false
    for (const [clientId, client] of this.clients) {
      if (client.owner !== member) continue
      client.owner = null
      if (client.state === REMOVED) continue
      this.remove(clientId, client, now)
      changed = true
    }
    return changed
  }

  /** Removes states not renewed since `before`; returns whether anything changed. */
  expire(before: number, now: number): boolean {
    let changed = false
    for (const [clientId, client] of this.clients) {
      if (client.state === REMOVED) {
        // Forget removed clients after a while; their clock only guards against late echoes.
        if (client.removedAt < before) this.ownClients().delete(clientId)
        continue
      }
      if (client.renewedAt >= before) continue
      this.remove(clientId, client, now)
      changed = true
    }
    return changed
  }

  /** The awareness update holding every change since the last call, or null. */
  takeChanges(): Uint8Array | null {
    if (this.changed.size === 0) return null
    const entries: AwarenessEntry[] = []
    for (const clientId of this.changed) {
      const client = this.clients.get(clientId)
      if (client !== undefined) entries.push({ clientId, clock: client.clock, state: client.state })
    }
    this.changed = NO_CHANGES
    return entries.length === 0 ? null : encodeAwarenessUpdate(entries)
  }

  /** Whether `takeChanges()` has anything to give. */
  get hasChanges(): boolean {
    return this.changed.size > 0
  }

  /**
   * Every live state, as one awareness update (for a joiner or a query), or null when none. The
   * same bytes are returned until the next change.
   */
  snapshot(): Uint8Array | null {
    if (this.encodedSnapshot !== undefined) return this.encodedSnapshot
    const entries: AwarenessEntry[] = []
    for (const [clientId, client] of this.clients) {
      if (client.state !== REMOVED) entries.push({ clientId, clock: client.clock, state: client.state })
    }
    this.encodedSnapshot = entries.length === 0 ? null : encodeAwarenessUpdate(entries)
    return this.encodedSnapshot
  }

  get size(): number {
    let live = 0
    for (const client of this.clients.values()) if (client.state !== REMOVED) live++
    return live
  }

  private ownClients(): Map<number, ClientState> {
    if (this.clients === NO_CLIENTS) this.clients = new Map()
    return this.clients as Map<number, ClientState>
  }

  private touch(clientId: number): void {
    if (this.changed === NO_CHANGES) this.changed = new Set()
    const changed = this.changed as Set<number>
    changed.add(clientId)
    this.encodedSnapshot = undefined
  }

  private remove(clientId: number, client: ClientState, now: number): void {
    client.clock += 1
    client.state = REMOVED
    client.removedAt = now
    client.removedMark = this.mark()
    this.touch(clientId)
  }
}
