import { afterEach, describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { encodeAwarenessUpdate, decodeAwarenessUpdate, ywebsocket, type TandemError } from '@tandem/protocol'
import { AWARENESS_INTERVAL_MS, awarenessInterval, Room, type RoomHost } from './room.js'
import type { Outbound, RoomMember } from './room-member.js'

const fakeHost = () => {
  // A clock the test moves by hand, so awareness throttling (AWARENESS_INTERVAL_MS) is deterministic.
  const clock = { time: 1_000_000 }
  const persisted: Uint8Array[] = []
  const commits: Array<() => void> = []
  const host: RoomHost = {
    scheduleFlush() {},
    persist: (_room, update) => void persisted.push(update),
    afterCommit: (callback) => void commits.push(callback),
    vacated() {},
    discard() {},
    roomLimits: { maxDocumentBytes: 1e9, maxPendingBytes: 1e9 },
    now: () => clock.time,
  }
  return { host, persisted, commits, clock }
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

describe('Room', () => {
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
      expect(room.hibernating).toBe(false)
      expect(room.doc.getText('text').toString()).toBe('» stored text')
      expect(persisted).toHaveLength(1)
      expect(syncUpdates(reader.sent)).toHaveLength(1)
      room.destroy()
    })

    it('drops the Y.Doc of a quiet document, the longer the bigger it is, and keeps serving it', () => {
      const { host, clock } = fakeHost()
      const room = new Room('doc', { snapshot: null, updates: [], lastSeq: 0 }, host)
      const a = member()
      room.join(a.m)
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
