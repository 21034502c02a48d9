import { afterEach, describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { encodeAwarenessUpdate, decodeAwarenessUpdate, ywebsocket, type TandemError } from '@tandem/protocol'
import { ASLEEP_TAIL_LIMIT, AWARENESS_INTERVAL_MS, awarenessInterval, Room, type RoomHost } from './room.js'
import type { Outbound, RoomMember } from './room-member.js'

const fakeHost = () => {
  // A clock the test moves by hand, so awareness throttling (AWARENESS_INTERVAL_MS) is deterministic.
  const clock = { time: 1_000_000 }
  const persisted: Uint8Array[] = []
  const commits: Array<() => void> = []
  const flushes = { asked: 0 }
  const host: RoomHost = {
    scheduleFlush: () => void flushes.asked++,
    persist: (_room, update) => void persisted.push(update),
    afterCommit: (callback) => void commits.push(callback),
    vacated() {},
    discard() {},
    roomLimits: { maxDocumentBytes: 1e9, maxPendingBytes: 1e9 },
    now: () => clock.time,
  }
  return { host, persisted, commits, clock, flushes }
}

let nextId = 1
const member = () => {
  const sent: Outbound[] = []
  const rejected: TandemError[] = []
  const acks: number[] = []
  const m: RoomMember = {
    id: nextId++,
    readOnly: false,
    send: (message) => void sent.push(message),
    reject: (error) => void rejected.push(error),
    acknowledge: (count) => void acks.push(count),
  }
  return { m, sent, rejected, acks }
}

/** A room on a fresh fake host with two members, a and b, joined in that order. */
const twoMembers = () => {
  const fake = fakeHost()
  const room = new Room('doc', { snapshot: null, updates: [], lastSeq: 0 }, fake.host)
  const a = member()
  const b = member()
  room.join(a.m)
  room.join(b.m)
  return { ...fake, room, a, b }
}

const edit = (text: string): Uint8Array => {
  const doc = new Y.Doc()
  doc.getText('text').insert(0, text)
  return Y.encodeStateAsUpdate(doc)
}

const syncUpdates = (sent: readonly Outbound[]) =>
  sent.map((m) => ywebsocket.decodeMessage(m.inner)).filter((m) => m.type === 'sync-update')

/** A writer with a Y.Doc of its own: `next(change)` makes a change and returns its update (what a provider sends). */
const writer = (clientID: number) => {
  const doc = new Y.Doc()
  doc.clientID = clientID
  const next = (change: (text: Y.Text) => void): Uint8Array => {
    const before = Y.encodeStateVector(doc)
    change(doc.getText('text'))
    return Y.encodeStateAsUpdate(doc, before)
  }
  return { doc, next }
}

const tick = (room: Room) => {
  room.flush()
  room.deliver()
}

/**
 * A room with a and b in it, to which a (writer 11) has written 'hello': awake (reading `doc` wakes
 * it) or, as a new room starts out, hibernating. What that write stored, sent and acknowledged is
 * cleared.
 */
const helloRoom = (awake: boolean) => {
  const setup = twoMembers()
  if (awake) expect(setup.room.doc).toBeInstanceOf(Y.Doc)
  const w = writer(11)
  setup.room.receiveUpdate(setup.a.m, w.next((text) => text.insert(0, 'hello')))
  tick(setup.room)
  expect(setup.room.hibernating).toBe(!awake)
  for (const commit of setup.commits.splice(0)) commit()
  setup.persisted.length = 0
  setup.b.sent.length = 0
  setup.a.acks.length = 0
  return { ...setup, w }
}

const liveRoom = () => helloRoom(true)

/** A named change a writer sends (after 'hello'), and how to tell the room's document applied it. */
type UpdateCase = [string, (w: ReturnType<typeof writer>) => Uint8Array[], (doc: Y.Doc) => boolean]

/** Updates that cannot be relayed ahead, nor taken asleep, whatever the document holds. */
const notAsItStands: UpdateCase[] = [
  ['a deletion', (w) => [w.next((text) => text.delete(0, 1))], (doc) => doc.getText('text').toString() === 'ello'],
  [
    'a nested type and its first item (whose parent is given by ID)',
    (w) => [w.next(() => {
      const nested = new Y.Text()
      w.doc.getMap('m').set('k', nested)
      nested.insert(0, 'x')
    })],
    (doc) => doc.getMap('m').has('k'),
  ],
]

describe('Room relaying a lone update ahead of applying it', () => {
  it('stores and broadcasts a lone append as received, then applies it, and acknowledges it after the commit', () => {
    const { room, a, b, persisted, commits, w } = liveRoom()
    const update = w.next((text) => text.insert(5, ' world'))
    room.receiveUpdate(a.m, update)
    room.flush()
    // Stored as received, and not yet applied: the broadcast does not wait for Yjs.
    expect(persisted).toEqual([update])
    expect(room.doc.getText('text').toString()).toBe('hello')
    room.deliver()
    expect(syncUpdates(b.sent).map((message) => message.update)).toEqual([update])
    expect(syncUpdates(a.sent)).toEqual([])
    expect(room.doc.getText('text').toString()).toBe('hello world')
    // Applying it stored and sent nothing more.
    expect(persisted).toHaveLength(1)
    expect(syncUpdates(b.sent)).toHaveLength(1)
    expect(a.acks).toEqual([])
    for (const commit of commits) commit()
    expect(a.acks).toEqual([1])
    // The full state answered afterwards holds it.
    room.syncStep1(b.m, new Uint8Array([0]))
    const answer = b.sent.map((m) => ywebsocket.decodeMessage(m.inner)).find((m) => m.type === 'sync-step2')
    const copy = new Y.Doc()
    Y.applyUpdate(copy, (answer as { update: Uint8Array }).update)
    expect(copy.getText('text').toString()).toBe('hello world')
  })

  it('applies first whatever it cannot be sure integrates as it stands', () => {
    // Each case is applied inside flush(), before the broadcast, and what is stored is Yjs's own
    // update event, not the bytes received.
    const cases: UpdateCase[] = [
      ...notAsItStands,
      ['two updates in one tick', (w) => [w.next((text) => text.insert(0, '1')), w.next((text) => text.insert(0, '2'))], (doc) => doc.getText('text').toString() === '21hello'],
    ]
    for (const [name, make, applied] of cases) {
      const { room, a, persisted, w } = liveRoom()
      const updates = make(w)
      for (const update of updates) room.receiveUpdate(a.m, update)
      room.flush()
      expect(applied(room.doc), name).toBe(true)
      room.deliver()
      expect(persisted, name).toHaveLength(1)
      expect(updates.includes(persisted[0]!), name).toBe(false)
    }
  })

  it('never relays ahead an update whose origin the document lacks, or one that could complete a pending one', () => {
    // An update depending on one the room has not seen waits inside Yjs: relayed as received it
    // would reach the other clients before its predecessor. (It is stored as received, see
    // "stores an update that waits for a predecessor".)
    const { room, a, b, persisted, w } = liveRoom()
    const missing = w.next((text) => text.insert(5, '!'))
    const dependent = w.next((text) => text.insert(6, '?'))
    room.receiveUpdate(a.m, dependent)
    tick(room)
    expect(persisted).toEqual([dependent])
    expect(syncUpdates(b.sent)).toEqual([])
    expect(room.doc.getText('text').toString()).toBe('hello')
    // Its predecessor arrives alone and would qualify by itself, but it completes the pending one:
    // applied first, both go out as one update event, stored and sent.
    room.receiveUpdate(a.m, missing)
    room.flush()
    expect(room.doc.getText('text').toString()).toBe('hello!?')
    room.deliver()
    expect(persisted).toHaveLength(2)
    const sent = syncUpdates(b.sent).map((message) => message.update)
    expect(sent).toHaveLength(1)
    const meta = Y.parseUpdateMeta(sent[0]!)
    expect([meta.from.get(11), meta.to.get(11)]).toEqual([5, 7])
  })

  it('stores an update that waits for a predecessor before acknowledging it, and sends it to no one', () => {
    // Yjs keeps it aside and fires no update event: without storing it as received, its
    // acknowledgement would stand for nothing stored, and a restart would lose it.
    const { room, a, b, persisted, commits, w } = liveRoom()
    const hello = Y.encodeStateAsUpdate(w.doc)
    const missing = w.next((text) => text.insert(5, '!'))
    const dependent = w.next((text) => text.insert(6, '?'))
    room.receiveUpdate(a.m, dependent)
    tick(room)
    expect(syncUpdates(b.sent)).toEqual([])
    for (const commit of commits) commit()
    expect(a.acks).toEqual([1])
    // Reloaded from what is stored, with the predecessor arriving after the restart.
    const reloaded = new Y.Doc()
    for (const row of [hello, ...persisted, missing]) Y.applyUpdate(reloaded, row)
    expect(reloaded.getText('text').toString()).toBe('hello!?')
  })

  it('stores an update once while a deletion nobody can complete waits in the document', () => {
    // Yjs re-encodes what waits on every update: compared by reference, every later update would
    // look as if it left something waiting, and be stored twice.
    const { room, a, b, persisted } = liveRoom()
    const stranger = writer(999)
    stranger.next((text) => text.insert(0, 'never sent'))
    stranger.next((text) => text.delete(0, 10))
    // Only its delete set: the characters it deletes never reach the room.
    room.receiveUpdate(a.m, Y.encodeStateAsUpdate(stranger.doc, Y.encodeStateVector(stranger.doc)))
    tick(room)
    expect(room.doc.store.pendingDs).not.toBeNull()
    persisted.length = 0
    const w = writer(12)
    Y.applyUpdate(w.doc, Y.encodeStateAsUpdate(room.doc))
    room.receiveUpdate(b.m, w.next((text) => text.insert(0, '» ')))
    tick(room)
    expect(room.doc.getText('text').toString()).toBe('» hello')
    expect(persisted).toHaveLength(1)
  })

  it('asks for another end of tick when applying the update made Yjs write a change of its own', () => {
    // Concurrent bold on the same range of a nested text: applying the second, Yjs removes the
    // duplicate formatting in a transaction of its own, after the broadcast went out.
    const { room, a, b, persisted, flushes } = twoMembers()
    const first = new Y.Doc()
    first.clientID = 100
    const nested = new Y.Text()
    first.getMap('m').set('k', nested)
    nested.insert(0, 'abc')
    room.receiveUpdate(a.m, Y.encodeStateAsUpdate(first))
    tick(room)
    const second = new Y.Doc()
    second.clientID = 200
    Y.applyUpdate(second, Y.encodeStateAsUpdate(first))
    let before = Y.encodeStateVector(first)
    nested.format(0, 3, { bold: true })
    room.receiveUpdate(a.m, Y.encodeStateAsUpdate(first, before))
    tick(room)
    before = Y.encodeStateVector(second)
    ;(second.getMap('m').get('k') as Y.Text).format(0, 3, { bold: true })
    const update = Y.encodeStateAsUpdate(second, before)
    room.receiveUpdate(b.m, update)
    const asked = flushes.asked
    room.flush()
    expect(persisted.at(-1)).toBe(update)
    const rows = persisted.length
    room.deliver()
    // Yjs's clean-up is stored and sent by the end of tick asked for here.
    expect(persisted.length).toBeGreaterThan(rows)
    expect(flushes.asked).toBe(asked + 1)
    room.flush()
    room.deliver()
    expect(room.hibernate(-1e12)).toBe(true)
  })

  it('never relays ahead an update the document already holds, or one that completes a pending deletion', () => {
    const { room, a, b, persisted, w } = liveRoom()
    // Sent again (a reconnecting client's step 2 does this): its clocks start below the document's.
    room.receiveUpdate(a.m, Y.encodeStateAsUpdate(w.doc))
    tick(room)
    expect(persisted).toEqual([])
    expect(syncUpdates(b.sent)).toEqual([])
    // A deletion of a character the room has not seen waits in Yjs's pendingDs.
    const unseen = w.next((text) => text.insert(5, '!'))
    room.receiveUpdate(a.m, w.next((text) => text.delete(5, 1)))
    tick(room)
    expect(room.doc.store.pendingDs).not.toBeNull()
    persisted.length = 0
    // The character then arrives alone, and would qualify by itself: applied first, it goes out
    // already deleted, as Yjs's own update.
    room.receiveUpdate(a.m, unseen)
    room.flush()
    expect(room.doc.getText('text').toString()).toBe('hello')
    room.deliver()
    expect(persisted).toHaveLength(1)
    expect(persisted[0]).not.toBe(unseen)
  })

  it('never relays ahead an edit placed next to another client’s character the document lacks', () => {
    // The edit's own clocks follow on from what the room has of its client; only an origin is
    // missing: the left one (after the unseen character), or the right one (at the very start,
    // before it).
    for (const [unseenAt, editAt] of [[5, 6], [0, 0]] as const) {
      const { room, a, b, persisted, w } = liveRoom()
      w.next((text) => text.insert(unseenAt, '!'))
      const other = writer(12)
      Y.applyUpdate(other.doc, Y.encodeStateAsUpdate(w.doc))
      room.receiveUpdate(a.m, other.next((text) => text.insert(editAt, '?')))
      tick(room)
      expect(room.doc.store.pendingStructs, `inserted at ${editAt}`).not.toBeNull()
      expect(syncUpdates(b.sent), `inserted at ${editAt}`).toEqual([])
    }
  })
})

describe('Room taking writes while hibernating', () => {
  /** A hibernating room (a new one starts so) with a and b in it, to which a wrote 'hello' asleep. */
  const asleep = () => helloRoom(false)
  const fullState = (room: Room): string => {
    const reader = member()
    room.syncStep1(reader.m, new Uint8Array([0]))
    const copy = new Y.Doc()
    Y.applyUpdate(copy, (ywebsocket.decodeMessage(reader.sent[0]!.inner) as { update: Uint8Array }).update)
    return copy.getText('text').toString()
  }

  it('stores, sends and acknowledges updates that extend the document, without building a Y.Doc', () => {
    const { room, a, b, persisted, commits, w } = asleep()
    // Two in one tick, the second placed after the first (an origin in the same update's client).
    const updates = [w.next((text) => text.insert(5, ' world')), w.next((text) => text.insert(11, '!'))]
    for (const update of updates) room.receiveUpdate(a.m, update)
    tick(room)
    expect(room.hibernating).toBe(true)
    expect(persisted).toEqual(updates)
    expect(syncUpdates(b.sent).map((message) => message.update)).toEqual(updates)
    expect(syncUpdates(a.sent)).toEqual([])
    expect(a.acks).toEqual([])
    for (const commit of commits) commit()
    expect(a.acks).toEqual([2])
    // What it keeps is a copy, not a view of the buffer the update was read into.
    const received = w.next((text) => text.insert(12, '?'))
    const readBuffer = new Uint8Array(65_536)
    readBuffer.set(received, 100)
    room.receiveUpdate(a.m, readBuffer.subarray(100, 100 + received.byteLength))
    tick(room)
    expect(room.hibernating).toBe(true)
    expect(persisted.at(-1)).toEqual(received)
    expect(persisted.at(-1)!.buffer.byteLength).toBe(received.byteLength)
    // Readers get all of it, and joiners are greeted with the clocks it leaves behind.
    expect(fullState(room)).toBe('hello world!?')
    const joiner = member()
    room.join(joiner.m)
    expect(ywebsocket.decodeMessage(joiner.sent[0]!.inner)).toEqual({ type: 'sync-step1', stateVector: Y.encodeStateVector(w.doc) })
    expect(room.hibernating).toBe(true)
    // Waking applies what was written asleep.
    expect(room.doc.getText('text').toString()).toBe('hello world!?')
  })

  it('wakes, and applies first, for anything it cannot be sure extends the document as it stands', () => {
    // Each case wakes the room and is applied by Yjs inside flush() (taken asleep, the room would
    // still be hibernating).
    const cases: UpdateCase[] = [
      ...notAsItStands,
      [
        'a gap in its own client’s clocks',
        (w) => {
          w.next((text) => text.insert(5, '!'))
          return [w.next((text) => text.insert(6, '?'))]
        },
        (doc) => doc.store.pendingStructs !== null,
      ],
      [
        'an origin of another client the document lacks',
        (w) => {
          w.next((text) => text.insert(5, '!'))
          const other = writer(12)
          Y.applyUpdate(other.doc, Y.encodeStateAsUpdate(w.doc))
          return [other.next((text) => text.insert(6, '?'))]
        },
        (doc) => doc.store.pendingStructs !== null,
      ],
      [
        'an update starting below the document’s clock (partly known)',
        (w) => {
          w.next((text) => text.insert(5, '!'))
          // From clock 3 of client 11, of which the room has 0-4.
          return [Y.encodeStateAsUpdate(w.doc, Y.encodeStateVector(new Map([[11, 3]])))]
        },
        (doc) => doc.getText('text').toString() === 'hello!',
      ],
      [
        'a tick in which one update of two does not qualify',
        (w) => [w.next((text) => text.insert(5, '!')), w.next((text) => text.delete(0, 1))],
        (doc) => doc.getText('text').toString() === 'ello!',
      ],
    ]
    for (const [name, make, applied] of cases) {
      const { room, a, w } = asleep()
      const updates = make(w)
      for (const update of updates) room.receiveUpdate(a.m, update)
      room.flush()
      expect(room.hibernating, name).toBe(false)
      expect(applied(room.doc), name).toBe(true)
      room.deliver()
    }
  })

  it('acknowledges, without waking or storing, an update it already holds', () => {
    const { room, a, persisted, commits, w } = asleep()
    room.receiveUpdate(a.m, Y.encodeStateAsUpdate(w.doc))
    tick(room)
    expect(room.hibernating).toBe(true)
    expect(persisted).toEqual([])
    for (const commit of commits) commit()
    expect(a.acks).toEqual([1])
  })

  it('wakes for a write that completes what waits in the document it hibernated with', () => {
    // A struct (or a deletion) waiting for its predecessor is in the encoding, not in the clocks:
    // the predecessor, arriving asleep, would be stored and sent without what it completes.
    for (const waits of ['an insertion', 'a deletion'] as const) {
      const { room, a, b, persisted, w } = asleep()
      const hello = Y.encodeStateAsUpdate(w.doc)
      expect(room.doc).toBeInstanceOf(Y.Doc)
      const missing = w.next((text) => text.insert(5, '!'))
      const waiting = waits === 'an insertion' ? w.next((text) => text.insert(6, '?')) : w.next((text) => text.delete(5, 1))
      room.receiveUpdate(a.m, waiting)
      tick(room)
      expect(room.hibernate(-1e12), waits).toBe(true)
      room.receiveUpdate(a.m, missing)
      tick(room)
      expect(room.hibernating, waits).toBe(false)
      const expected = waits === 'an insertion' ? 'hello!?' : 'hello'
      expect(room.doc.getText('text').toString(), waits).toBe(expected)
      // What b was sent, and what was stored, both hold it.
      const replica = new Y.Doc()
      for (const update of [hello, ...syncUpdates(b.sent).map((message) => message.update)]) Y.applyUpdate(replica, update)
      const reloaded = new Y.Doc()
      for (const row of [hello, ...persisted]) Y.applyUpdate(reloaded, row)
      expect(replica.getText('text').toString(), waits).toBe(expected)
      expect(reloaded.getText('text').toString(), waits).toBe(expected)
    }
  })

  it(`wakes once ${ASLEEP_TAIL_LIMIT} updates wait to be merged, and a read merges them`, () => {
    const { room, a, w } = asleep()
    const write = (count: number) => {
      for (let i = 0; i < count; i++) {
        room.receiveUpdate(a.m, w.next((text) => text.insert(text.length, '.')))
        tick(room)
      }
    }
    // 'hello' is still waiting too.
    write(ASLEEP_TAIL_LIMIT - 1)
    expect(room.hibernating).toBe(true)
    // A read merges them into the encoding: the count starts again.
    expect(fullState(room)).toBe(`hello${'.'.repeat(ASLEEP_TAIL_LIMIT - 1)}`)
    write(ASLEEP_TAIL_LIMIT)
    expect(room.hibernating).toBe(true)
    write(1)
    expect(room.hibernating).toBe(false)
    expect(room.doc.getText('text').toString()).toBe(`hello${'.'.repeat(2 * ASLEEP_TAIL_LIMIT)}`)
  })
})

describe('Room', () => {
  it('keeps what it queues to itself (rooms with nothing queued share one empty map)', () => {
    const one = twoMembers()
    const other = twoMembers()
    for (const { room } of [one, other]) expect(room.doc).toBeInstanceOf(Y.Doc)
    one.room.receiveUpdate(one.a.m, edit('for one'))
    tick(other.room)
    expect(other.persisted).toEqual([])
    tick(one.room)
    expect(one.room.doc.getText('text').toString()).toBe('for one')
    other.room.receiveUpdate(other.a.m, edit('for the other'))
    tick(one.room)
    expect(one.persisted).toHaveLength(1)
    tick(other.room)
    expect(other.room.doc.getText('text').toString()).toBe('for the other')
  })

  it('applies, stores and relays an update whose sender left in the same tick', () => {
    // The multiplexed dialect's Close for a document (or any leave) can arrive in the same socket
    // read as the sender's last update: the update was accepted and must not be lost with it.
    const { room, a, b, persisted, commits } = twoMembers()
    room.receiveUpdate(a.m, edit('typed right before closing'))
    room.leave(a.m)
    room.flush()
    room.deliver()
    expect(room.doc.getText('text').toString()).toBe('typed right before closing')
    expect(persisted).toHaveLength(1)
    expect(syncUpdates(b.sent)).toHaveLength(1)
    expect(syncUpdates(a.sent)).toHaveLength(0)
    // Nothing is acknowledged to a member that is gone.
    for (const commit of commits) commit()
    expect(a.acks).toEqual([])
  })

  it('does not let a late echo of a departed client’s presence lock that client out when it returns', () => {
    // b echoes a's last presence (y-websocket re-sends every change it hears), but the echo lands
    // after a left. The awareness drops it as stale; it must not make b the owner of a's ID either,
    // or a, reconnecting with the same doc, could neither show its presence nor write.
    const { room, a, b, clock } = twoMembers()
    const clientA = new Y.Doc()
    const state = (clock: number, name: string) => ({ clientId: clientA.clientID, clock, state: JSON.stringify({ name }) })
    room.receiveAwareness(a.m, decodeAwarenessUpdate(encodeAwarenessUpdate([state(3, 'a')])))
    room.leave(a.m)
    room.receiveAwareness(b.m, decodeAwarenessUpdate(encodeAwarenessUpdate([state(3, 'a')])))
    room.flush()
    room.deliver()
    clock.time += AWARENESS_INTERVAL_MS

    const back = member()
    room.join(back.m)
    room.receiveAwareness(back.m, decodeAwarenessUpdate(encodeAwarenessUpdate([state(3, 'a')])))
    room.flush()
    room.deliver()
    const relayed = b.sent
      .map((m) => ywebsocket.decodeMessage(m.inner))
      .flatMap((m) => (m.type === 'awareness' ? decodeAwarenessUpdate(m.update) : []))
    expect(relayed.at(-1)).toMatchObject({ clientId: clientA.clientID, state: JSON.stringify({ name: 'a' }) })
    // ...and it can write with its own client ID again.
    clientA.getText('text').insert(0, 'back')
    expect(() => room.receiveUpdate(back.m, Y.encodeStateAsUpdate(clientA))).not.toThrow()
    expect(back.rejected).toEqual([])
  })

  it('acknowledges a present sender after the commit, and never echoes its update', () => {
    const { room, a, b, persisted, commits } = twoMembers()
    // Awake (a hibernating room takes such writes one by one, see below).
    expect(room.doc).toBeInstanceOf(Y.Doc)
    room.receiveUpdate(a.m, edit('one'))
    room.receiveUpdate(a.m, edit('two'))
    room.flush()
    // One transaction for the sender's tick: one stored update, one broadcast.
    expect(persisted).toHaveLength(1)
    expect(a.acks).toEqual([])
    room.deliver()
    expect(syncUpdates(b.sent)).toHaveLength(1)
    expect(syncUpdates(a.sent)).toHaveLength(0)
    for (const commit of commits) commit()
    expect(a.acks).toEqual([2])
  })

  describe('awareness throttling', () => {
    afterEach(() => {
      vi.useRealTimers()
    })

    const awarenessSent = (sent: readonly Outbound[]) =>
      sent.map((m) => ywebsocket.decodeMessage(m.inner)).flatMap((m) => (m.type === 'awareness' ? decodeAwarenessUpdate(m.update) : []))

    it('sends a change after a quiet spell at once, and coalesces a burst into one trailing message', () => {
      vi.useFakeTimers()
      const { room, a, b, clock } = twoMembers()
      const entry = (clientId: number, clock: number) => ({ clientId, clock, state: JSON.stringify({ clock }) })
      const announce = (entries: ReturnType<typeof entry>[]) => {
        room.receiveAwareness(a.m, entries)
        room.flush()
        room.deliver()
      }
      announce([entry(7, 1)])
      expect(awarenessSent(b.sent)).toEqual([entry(7, 1)])
      // Two more changes inside the interval: nothing yet...
      announce([entry(7, 2)])
      announce([entry(7, 3), entry(8, 1)])
      expect(awarenessSent(b.sent)).toHaveLength(1)
      // ...then one message with the latest state of each client.
      clock.time += AWARENESS_INTERVAL_MS
      vi.advanceTimersByTime(AWARENESS_INTERVAL_MS)
      const sent = b.sent.filter((m) => ywebsocket.decodeMessage(m.inner).type === 'awareness')
      expect(sent).toHaveLength(2)
      expect(awarenessSent(b.sent).slice(1)).toEqual([entry(7, 3), entry(8, 1)])
      room.destroy()
    })

    it('spaces broadcasts further apart in a large room: 0.1 ms per member', () => {
      vi.useFakeTimers()
      expect(awarenessInterval(2)).toBe(AWARENESS_INTERVAL_MS)
      expect(awarenessInterval(2_000)).toBe(200)
      const { room, a, b, clock } = twoMembers()
      for (let i = 0; i < 998; i++) room.join(member().m)
      const announce = (clock: number) => {
        room.receiveAwareness(a.m, [{ clientId: 7, clock, state: '{}' }])
        room.flush()
        room.deliver()
      }
      const count = () => awarenessSent(b.sent).length
      announce(1)
      expect(count()).toBe(1)
      announce(2)
      clock.time += AWARENESS_INTERVAL_MS
      vi.advanceTimersByTime(AWARENESS_INTERVAL_MS)
      expect(count()).toBe(1)
      clock.time += 100 - AWARENESS_INTERVAL_MS
      vi.advanceTimersByTime(100 - AWARENESS_INTERVAL_MS)
      expect(awarenessSent(b.sent)).toEqual([
        { clientId: 7, clock: 1, state: '{}' },
        { clientId: 7, clock: 2, state: '{}' },
      ])
      room.destroy()
    })

    it('gives joiners during a storm the same encoded snapshot', () => {
      const { host } = fakeHost()
      const room = new Room('doc', { snapshot: null, updates: [], lastSeq: 0 }, host)
      const a = member()
      room.join(a.m)
      room.receiveAwareness(a.m, [{ clientId: 1, clock: 1, state: '{}' }])
      const b = member()
      const c = member()
      room.join(b.m)
      room.join(c.m)
      const last = (sent: Outbound[]) => sent.at(-1)
      expect(last(b.sent)).toBe(last(c.sent))
      expect(awarenessSent(c.sent)).toEqual([{ clientId: 1, clock: 1, state: '{}' }])
      room.destroy()
    })
  })

  describe('hibernation', () => {
    const step2 = (sent: readonly Outbound[]) =>
      sent.map((m) => ywebsocket.decodeMessage(m.inner)).filter((m) => m.type === 'sync-step2')

    it('serves a document stored as one piece without building a Y.Doc, and wakes on the first write', async () => {
      const stored = edit('stored text')
      const { host, persisted } = fakeHost()
      const room = new Room('doc', { snapshot: stored, updates: [], lastSeq: 1 }, host)
      expect(room.hibernating).toBe(true)
      const reader = member()
      room.join(reader.m)
      room.syncStep1(reader.m, Y.encodeStateVector(new Y.Doc()))
      // The greeting (our sync step 1) follows the answer, a tick later: deriving the state vector
      // of a big stored update takes a while, and the joiner should not wait for it.
      expect(reader.sent.map((m) => ywebsocket.decodeMessage(m.inner).type)).toEqual(['sync-step2'])
      await new Promise((resolve) => setImmediate(resolve))
      expect(room.hibernating).toBe(true)
      const copy = new Y.Doc()
      const [answer] = step2(reader.sent)
      Y.applyUpdate(copy, (answer as { update: Uint8Array }).update)
      expect(copy.getText('text').toString()).toBe('stored text')
      // The greeting's state vector is the stored one, so the client sends exactly what we lack.
      const greeting = ywebsocket.decodeMessage(reader.sent[1]!.inner)
      expect(greeting).toEqual({ type: 'sync-step1', stateVector: Y.encodeStateVectorFromUpdate(stored) })

      const writer = member()
      room.join(writer.m)
      copy.getText('text').insert(0, '» ')
      room.receiveUpdate(writer.m, Y.encodeStateAsUpdate(copy, Y.encodeStateVectorFromUpdate(stored)))
      room.flush()
      room.deliver()
      // Whether the stored piece holds updates waiting for a predecessor is not known without
      // applying it: the first write wakes the room (see "Room taking writes while hibernating").
      expect(room.hibernating).toBe(false)
      expect(room.doc.getText('text').toString()).toBe('» stored text')
      expect(persisted).toHaveLength(1)
      expect(syncUpdates(reader.sent)).toHaveLength(1)
      room.destroy()
    })

    it('answers readers with every piece of a document stored in several', () => {
      const w = writer(11)
      const pieces = [w.next((text) => text.insert(0, 'one')), w.next((text) => text.insert(3, ' two'))]
      const room = new Room('doc', { snapshot: null, updates: pieces, lastSeq: 2 }, fakeHost().host)
      const reader = member()
      room.syncStep1(reader.m, new Uint8Array([0]))
      const copy = new Y.Doc()
      Y.applyUpdate(copy, (step2(reader.sent)[0] as { update: Uint8Array }).update)
      expect(copy.getText('text').toString()).toBe('one two')
      room.destroy()
    })

    it('drops the Y.Doc of a quiet document, the longer the bigger it is, and keeps serving it', () => {
      const { host, clock } = fakeHost()
      const room = new Room('doc', { snapshot: null, updates: [], lastSeq: 0 }, host)
      const a = member()
      room.join(a.m)
      // A new room starts out hibernating: wake it (reading `doc` does).
      expect(room.doc).toBeInstanceOf(Y.Doc)
      room.receiveUpdate(a.m, edit('x'.repeat(20_000)))
      room.flush()
      room.deliver()
      expect(room.hibernate(1_000)).toBe(false)
      clock.time += 1_000
      // 20 KB of state asks for about 2 s more of quiet.
      expect(room.hibernate(1_000)).toBe(false)
      clock.time += 2_100
      expect(room.hibernate(1_000)).toBe(true)
      expect(room.hibernating).toBe(true)

      const late = member()
      room.join(late.m)
      room.syncStep1(late.m, new Uint8Array([0]))
      const copy = new Y.Doc()
      Y.applyUpdate(copy, (step2(late.sent)[0] as { update: Uint8Array }).update)
      expect(copy.getText('text').length).toBe(20_000)
      expect(room.hibernating).toBe(true)
      room.destroy()
    })
  })
})
