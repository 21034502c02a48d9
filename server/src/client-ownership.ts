import type { RoomMember } from './room-member.js'

/**
 * How a member came to own a client ID: `announced` it in awareness (providers announce their own
 * `doc.clientID` as soon as they connect), or `written` new clock ranges for it first. A write
 * claim is weak: a resync can carry another client's edits the server lacks (a second tab's,
 * say), so when that client announces itself, the ID passes to it.
 */
export type Claim = 'announced' | 'written'

/**
 * Which live member of a room owns which Yjs client IDs. Another member writing new ranges for an
 * owned ID is forging that client: its structs would occupy clocks the real client is about to
 * use, and the real client's later edits would be taken for duplicates and silently dropped.
 * Re-sending ranges the document already has is not forging (every resync does it).
 */
export class ClientOwnership {
  private readonly owners = new Map<number, { member: RoomMember; claim: Claim }>()
  private readonly owned = new Map<RoomMember, Set<number>>()

  /**
   * Whether another live member owns `clientId` in a way that bars `member`: any claim bars
   * writing new ranges; only an announcement bars announcing.
   */
  ownedByOther(clientId: number, member: RoomMember, purpose: Claim): boolean {
    const owner = this.owners.get(clientId)
    if (owner === undefined || owner.member === member) return false
    return purpose === 'written' || owner.claim === 'announced'
  }

  claim(clientId: number, member: RoomMember, claim: Claim): void {
    const owner = this.owners.get(clientId)
    if (owner !== undefined) {
      if (owner.claim === 'announced' || claim === 'written') return
      if (owner.member !== member) this.owned.get(owner.member)?.delete(clientId)
    }
    this.owners.set(clientId, { member, claim })
    let ids = this.owned.get(member)
    if (ids === undefined) this.owned.set(member, (ids = new Set()))
    ids.add(clientId)
  }

  /** The member left: its IDs are free (the same client may come back on a new connection). */
  release(member: RoomMember): void {
    const ids = this.owned.get(member)
    if (ids === undefined) return
    for (const id of ids) this.owners.delete(id)
    this.owned.delete(member)
  }
}
