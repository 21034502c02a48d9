import { describe, expect, it } from 'vitest'
import { decodeAwarenessUpdate, type AwarenessEntry } from '@tandem/protocol'
import { RoomAwareness } from './room-awareness.js'
import type { RoomMember } from './room-member.js'

let nextId = 1
const member = (): RoomMember => ({ id: nextId++, readOnly: false, send() {}, reject() {}, acknowledge() {} })
const entry = (clientId: number, clock: number, state: unknown): AwarenessEntry => ({ clientId, clock, state: JSON.stringify(state) })
const changes = (awareness: RoomAwareness): AwarenessEntry[] => {
  const update = awareness.takeChanges()
  return update === null ? [] : decodeAwarenessUpdate(update)
}
const live = (awareness: RoomAwareness): AwarenessEntry[] => {
  const update = awareness.snapshot()
  return update === null ? [] : decodeAwarenessUpdate(update)
}

describe('RoomAwareness', () => {
  it('accepts a newer clock, ignores an older or equal one for a live state', () => {
    const awareness = new RoomAwareness()
    const a = member()
    expect(awareness.apply(a, 0, [entry(7, 1, { v: 1 })], 10)).toBe(true)
    expect(awareness.apply(a, 0, [entry(7, 3, { v: 3 })], 11)).toBe(true)
    expect(awareness.apply(a, 0, [entry(7, 2, { v: 2 })], 12)).toBe(false)
    expect(awareness.apply(a, 0, [entry(7, 3, { v: 'same clock' })], 13)).toBe(false)
    expect(live(awareness)).toEqual([entry(7, 3, { v: 3 })])
    expect(changes(awareness)).toEqual([entry(7, 3, { v: 3 })])
    expect(changes(awareness)).toEqual([])
  })

  it('lets an equal clock remove a state (y-websocket sends its current clock with null on disconnect)', () => {
    const awareness = new RoomAwareness()
    const a = member()
    awareness.apply(a, 0, [entry(7, 4, { v: 1 })], 10)
    awareness.takeChanges()
    expect(awareness.apply(a, 0, [{ clientId: 7, clock: 4, state: 'null' }], 11)).toBe(true)
    expect(changes(awareness)).toEqual([{ clientId: 7, clock: 4, state: 'null' }])
    expect(awareness.size).toBe(0)
  })

  it('gives a client ID to the member that introduced it and drops foreign echoes silently', () => {
    const awareness = new RoomAwareness()
    const a = member()
    const b = member()
    awareness.apply(a, 0, [entry(7, 1, { name: 'a' })], 10)
    awareness.takeChanges()
    // b re-sends what it heard (even with a higher clock, or a removal): not b's to change.
    expect(awareness.apply(b, 0, [entry(7, 1, { name: 'a' })], 11)).toBe(false)
    expect(awareness.apply(b, 0, [entry(7, 9, { name: 'forged' })], 11)).toBe(false)
    expect(awareness.apply(b, 0, [{ clientId: 7, clock: 9, state: 'null' }], 11)).toBe(false)
    // ...while b's own client ID in the same message is accepted.
    expect(awareness.apply(b, 0, [entry(7, 2, { name: 'x' }), entry(8, 1, { name: 'b' })], 12)).toBe(true)
    expect(changes(awareness)).toEqual([entry(8, 1, { name: 'b' })])
    expect(live(awareness)).toEqual([entry(7, 1, { name: 'a' }), entry(8, 1, { name: 'b' })])
  })

  it('removes every state of a member that leaves, with a clock its peers accept', () => {
    const awareness = new RoomAwareness()
    const a = member()
    const b = member()
    awareness.apply(a, 0, [entry(7, 5, { n: 1 }), entry(70, 2, { n: 2 })], 10)
    awareness.apply(b, 0, [entry(8, 1, { n: 3 })], 10)
    awareness.takeChanges()
    expect(awareness.removeMember(a, 20)).toBe(true)
    expect(changes(awareness)).toEqual([
      { clientId: 7, clock: 6, state: 'null' },
      { clientId: 70, clock: 3, state: 'null' },
    ])
    expect(live(awareness)).toEqual([entry(8, 1, { n: 3 })])
    expect(awareness.removeMember(a, 21)).toBe(false)
  })

  it('expires states not renewed in time, then forgets removed clients', () => {
    const awareness = new RoomAwareness()
    const a = member()
    awareness.apply(a, 0, [entry(7, 1, { n: 1 }), entry(8, 1, { n: 2 })], 100)
    awareness.apply(a, 0, [entry(8, 2, { n: 2 })], 200)
    awareness.takeChanges()
    expect(awareness.expire(150, 300)).toBe(true)
    expect(changes(awareness)).toEqual([{ clientId: 7, clock: 2, state: 'null' }])
    expect(live(awareness)).toEqual([entry(8, 2, { n: 2 })])
    // The removed entry's clock guards against late echoes until the next sweep forgets it.
    expect(awareness.apply(member(), 0, [entry(7, 1, { n: 1 })], 310)).toBe(false)
    expect(awareness.expire(400, 500)).toBe(true)
    expect(awareness.expire(301, 600)).toBe(false)
  })

  it('relays a returning client (reconnected after its removal) with a clock every peer accepts', () => {
    const awareness = new RoomAwareness()
    const first = member()
    awareness.apply(first, awareness.mark(), [entry(7, 4, { name: 'a' })], 10)
    awareness.removeMember(first, 20) // the server removed it at clock 5
    awareness.takeChanges()
    // The client reconnects and re-sends its state with the clock it had: 4 < 5.
    const second = member()
    expect(awareness.apply(second, awareness.mark(), [entry(7, 4, { name: 'a' })], 20)).toBe(true)
    expect(changes(awareness)).toEqual([entry(7, 6, { name: 'a' })])
  })

  it('keeps relaying a returning client whose clock was rewritten (its next changes are not dropped)', () => {
    const awareness = new RoomAwareness()
    const first = member()
    awareness.apply(first, awareness.mark(), [entry(7, 4, { v: 1 })], 10)
    awareness.apply(first, 1, [{ clientId: 7, clock: 4, state: 'null' }], 20) // y-websocket disconnect()
    const second = member()
    const secondJoined = awareness.mark()
    awareness.apply(second, secondJoined, [entry(7, 4, { v: 1 })], 30)
    awareness.takeChanges()
    // The client's own clock moves on from 4; each change must still reach the peers, above 5.
    expect(awareness.apply(second, secondJoined, [entry(7, 5, { v: 2 })], 31)).toBe(true)
    expect(changes(awareness)).toEqual([entry(7, 6, { v: 2 })])
    expect(awareness.apply(second, secondJoined, [entry(7, 6, { v: 3 })], 32)).toBe(true)
    expect(changes(awareness)).toEqual([entry(7, 7, { v: 3 })])
    // Its removal on leave still lands above everything relayed.
    awareness.removeMember(second, 40)
    expect(changes(awareness)).toEqual([{ clientId: 7, clock: 8, state: 'null' }])
    // And its own removal (disconnect) with its own clock is understood too.
    const third = member()
    const thirdJoined = awareness.mark()
    awareness.apply(third, thirdJoined, [entry(7, 6, { v: 3 })], 50)
    awareness.takeChanges()
    expect(awareness.apply(third, thirdJoined, [{ clientId: 7, clock: 6, state: 'null' }], 51)).toBe(true)
    expect(awareness.size).toBe(0)
  })

  it('takes back a state from its still-connected owner after expiry', () => {
    const awareness = new RoomAwareness()
    const a = member()
    awareness.apply(a, 0, [entry(7, 1, { n: 1 })], 100)
    awareness.expire(150, 200) // removed at clock 2
    awareness.takeChanges()
    // The client renews late with clock 2: not newer than our removal, but it is the owner.
    expect(awareness.apply(a, 0, [entry(7, 2, { n: 1 })], 210)).toBe(true)
    expect(changes(awareness)).toEqual([entry(7, 3, { n: 1 })])
  })

  it('does not bring back a removed state echoed by a member that joined before the removal', () => {
    const awareness = new RoomAwareness()
    const a = member()
    const b = member()
    awareness.apply(a, awareness.mark(), [entry(7, 4, { name: 'a' })], 10)
    const bJoined = awareness.mark()
    // In the same millisecond as b's join: the order still tells them apart.
    awareness.removeMember(a, 10)
    awareness.takeChanges()
    // b heard a's state, and its echo lands after a left.
    expect(awareness.apply(b, bJoined, [entry(7, 4, { name: 'a' })], 10)).toBe(false)
    expect(awareness.size).toBe(0)
    expect(awareness.liveOwner(7)).toBeNull()
  })

  it('keeps its states and changes to itself (awarenesses without any share one empty collection)', () => {
    const quiet = new RoomAwareness()
    const busy = new RoomAwareness()
    busy.apply(member(), 0, [entry(7, 1, { n: 1 })], 10)
    expect(live(quiet)).toEqual([])
    expect(quiet.hasChanges).toBe(false)
    expect(changes(busy)).toEqual([entry(7, 1, { n: 1 })])
    expect(quiet.size).toBe(0)
    // After its changes were taken, a change of its own is still its own.
    quiet.apply(member(), 0, [entry(8, 1, { n: 2 })], 11)
    expect(busy.hasChanges).toBe(false)
    expect(live(busy)).toEqual([entry(7, 1, { n: 1 })])
  })
})
