import { afterEach, describe, expect, it } from 'vitest'
import type WebSocket from 'ws'
import * as Y from 'yjs'
import { startTandem, type RunningTandem } from '../support/tandem.js'
import { yClient, type YClient } from '../support/y-websocket-client.js'
import { rawClient, authorsOf, type RawClient } from '../support/raw-client.js'
import { eventually, seededRandom } from '../support/wait.js'

/**
 * Interop with the real `y-websocket` WebsocketProvider (3.x from npm): convergence under random
 * concurrent edits and disconnects, awareness relay and removal, late joiners, and no echo.
 */
describe('y-websocket WebsocketProvider interop', () => {
  let tandem: RunningTandem | undefined
  const clients: YClient[] = []
  const raws: RawClient[] = []
  const client = (room: string, options: { connect?: boolean } = {}): YClient => {
    const c = yClient(tandem!.url, room, options)
    clients.push(c)
    return c
  }
  const raw = async (room: string, options: Parameters<typeof rawClient>[2] = {}): Promise<RawClient> => {
    const r = await rawClient(tandem!.url, room, options)
    raws.push(r)
    return r
  }
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy()
    for (const r of raws.splice(0)) r.close()
    await tandem?.close()
    tandem = undefined
  })

  describe('convergence', () => {
    const SEEDS = [1, 7, 42, 2024, 31337]

    it.each(SEEDS)('3+ providers converge after seeded random edits and disconnects (seed %i)', async (seed) => {
      await withSeed(seed, async () => {
        const random = seededRandom(seed)
        const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
        // SQLite and immediate unloading: halfway, everyone is offline and the room reloads from disk.
        tandem = await startTandem({ storage: 'sqlite', config: { roomIdleMs: 0 } })
        const room = `converge-${seed}`
        const peers = Array.from({ length: 3 + Math.floor(random() * 2) }, () => client(room))
        await Promise.all(peers.map((p) => p.synced()))

        let disconnects = 0
        for (let step = 0; step < 400; step++) {
          if (step === 200) {
            for (const p of peers) if (p.provider.shouldConnect) p.provider.disconnect()
            await eventually(() => tandem!.server.registry.size === 0, 'the room to unload while everyone is offline')
          }
          const peer = pick(peers)
          const roll = random()
          if (roll < 0.06) {
            if (peer.provider.shouldConnect) {
              peer.provider.disconnect()
              disconnects++
            } else {
              peer.provider.connect()
            }
          } else if (roll < 0.55) {
            const at = Math.floor(random() * (peer.text.length + 1))
            peer.text.insert(at, randomWord(random))
          } else if (roll < 0.8) {
            if (peer.text.length > 0) {
              const at = Math.floor(random() * peer.text.length)
              peer.text.delete(at, 1 + Math.floor(random() * Math.min(8, peer.text.length - at)))
            }
          } else {
            const map = peer.doc.getMap<number>('map')
            const key = `k${Math.floor(random() * 12)}`
            if (random() < 0.2) map.delete(key)
            else map.set(key, Math.floor(random() * 1000))
          }
          // Let the network run now and then, so edits cross in flight rather than in lockstep.
          if (random() < 0.3) await new Promise((resolve) => setImmediate(resolve))
          if (random() < 0.05) await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 5)))
        }
        expect(disconnects, 'the run should include disconnects').toBeGreaterThan(0)

        for (const peer of peers) if (!peer.provider.shouldConnect) peer.provider.connect()
        await eventually(
          () => {
            const reference = fingerprint(peers[0]!.doc)
            if (peers.every((p) => p.provider.synced && fingerprint(p.doc) === reference)) return true
            // Thrown, not returned: `eventually` reports the last state it saw when it gives up.
            throw new Error(peers.map((p, i) => `peer ${i}: synced=${p.provider.synced} ${summary(p.doc)}`).join('; '))
          },
          'every provider to hold the same document',
          20_000,
        )
        // The server's copy is the same as well.
        const serverDoc = tandem.server.registry.get(room)?.doc
        expect(serverDoc).toBeDefined()
        await eventually(() => fingerprint(serverDoc!) === fingerprint(peers[0]!.doc), 'the server copy to match')
        expect(peers[0]!.text.length + peers[0]!.doc.getMap('map').size).toBeGreaterThan(0)
      })
    })
  })

  it('a provider joining later receives the full state in its first sync', async () => {
    tandem = await startTandem()
    const a = client('late')
    const b = client('late')
    await Promise.all([a.synced(), b.synced()])
    for (let i = 0; i < 50; i++) {
      a.text.insert(a.text.length, `a${i} `)
      b.doc.getMap('map').set(`b${i}`, i)
    }
    await eventually(() => fingerprint(a.doc) === fingerprint(b.doc), 'a and b to converge')
    const expected = fingerprint(a.doc)

    const late = client('late', { connect: false })
    const seenAtFirstSync: string[] = []
    late.provider.on('sync', (synced: boolean) => {
      if (synced && seenAtFirstSync.length === 0) seenAtFirstSync.push(fingerprint(late.doc))
    })
    late.provider.connect()
    await late.synced()
    expect(seenAtFirstSync).toEqual([expected])
    expect(late.doc.getMap('map').size).toBe(50)
  })

  it('never echoes an edit back to its sender, while the other clients receive it', async () => {
    tandem = await startTandem()
    const b = client('echo')
    await b.synced()
    const sender = await raw('echo')
    await sender.synced()
    const mine = sender.doc.clientID
    // Send each local edit as its own message, as a provider does.
    sender.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== 'server') sender.sendUpdate(update)
    })
    for (let i = 0; i < 20; i++) sender.doc.getText('text').insert(0, `r${i};`)
    await eventually(() => b.text.toString().includes('r19;') && b.text.toString().includes('r0;'), 'b to receive the raw edits')

    // Barrier: b edits only after it saw ours, so any echo of ours would have been sent to us
    // before b's edit (one socket keeps order). Once b's edit arrives, no echo can still come.
    b.text.insert(0, 'from-b;')
    await eventually(() => sender.doc.getText('text').toString().includes('from-b;'), 'the sender to receive b’s edit')
    const updates = sender.received.filter((m) => m.type === 'sync-update')
    expect(updates.length).toBeGreaterThan(0)
    for (const message of updates) {
      if (message.type !== 'sync-update') continue
      expect(authorsOf(message.update).has(mine), 'a broadcast carried the sender’s own edit').toBe(false)
    }
    expect(updates.some((m) => m.type === 'sync-update' && authorsOf(m.update).has(b.doc.clientID))).toBe(true)
  })

  describe('awareness', () => {
    const stateOf = (observer: YClient, of: YClient | number): Record<string, unknown> | undefined =>
      observer.provider.awareness.getStates().get(typeof of === 'number' ? of : of.doc.clientID)

    it('reaches the others, is removed for them when a provider disconnects, and comes back with it', async () => {
      tandem = await startTandem()
      const [a, b, c] = [client('aw'), client('aw'), client('aw')]
      await Promise.all([a.synced(), b.synced(), c.synced()])
      a.provider.awareness.setLocalStateField('user', { name: 'a' })
      await eventually(() => [b, c].every((o) => (stateOf(o, a)?.user as { name?: string })?.name === 'a'), 'b and c to see a')

      a.provider.disconnect()
      await eventually(() => [b, c].every((o) => stateOf(o, a) === undefined), 'a’s presence to be removed for b and c', 5_000)

      // a reconnects with the clock it had; the server relays it above its removal.
      a.provider.connect()
      await eventually(() => [b, c].every((o) => stateOf(o, a) !== undefined), 'a’s presence to come back', 5_000)
      // ...and a's next changes are not taken for stale ones.
      a.provider.awareness.setLocalStateField('user', { name: 'a2' })
      await eventually(() => [b, c].every((o) => (stateOf(o, a)?.user as { name?: string })?.name === 'a2'), 'b and c to see a2', 5_000)
    })

    it('a presence change made right after reconnecting, before the server answered, is not lost', async () => {
      tandem = await startTandem()
      const [a, b] = [client('fast'), client('fast')]
      await Promise.all([a.synced(), b.synced()])
      a.provider.awareness.setLocalStateField('user', { name: 'before' })
      await eventually(() => stateOf(b, a) !== undefined, 'b to see a')
      a.provider.disconnect()
      await eventually(() => stateOf(b, a) === undefined, 'a’s presence to be removed')
      // An editor moves the cursor as soon as it is back: the change leaves right after the
      // provider's greeting (its old clock), before the server's rewritten clock comes back to it.
      a.provider.on('status', ({ status }: { status: string }) => {
        if (status === 'connected') queueMicrotask(() => a.provider.awareness.setLocalStateField('user', { name: 'after' }))
      })
      a.provider.connect()
      await eventually(() => (stateOf(b, a)?.user as { name?: string })?.name === 'after', 'b to see a’s change', 5_000)
    })

    it('is removed for the others when a socket is cut without a closing handshake', async () => {
      tandem = await startTandem()
      const b = client('cut')
      await b.synced()
      const r = await raw('cut')
      await r.synced()
      r.sendAwareness([{ clientId: 424242, clock: 1, state: JSON.stringify({ name: 'raw' }) }])
      await eventually(() => stateOf(b, 424242) !== undefined, 'b to see the raw client')
      r.socket.terminate()
      await eventually(() => stateOf(b, 424242) === undefined, 'the raw client’s presence to be removed', 5_000)
    })

    it('is removed when a peer stops answering pings (heartbeat), and the peer is terminated', async () => {
      tandem = await startTandem({ config: { heartbeatMs: 150 } })
      const b = client('dead')
      await b.synced()
      const r = await raw('dead', { autoPong: false })
      await r.synced()
      r.sendAwareness([{ clientId: 515151, clock: 1, state: JSON.stringify({ name: 'ghost' }) }])
      await eventually(() => stateOf(b, 515151) !== undefined, 'b to see the ghost')
      // The ghost never closes its socket; only the heartbeat can notice it is gone.
      await eventually(() => stateOf(b, 515151) === undefined, 'the ghost’s presence to be removed', 5_000)
      const closed = await r.whenClosed(5_000)
      expect(closed.code).toBe(1006)
      expect(tandem.logs.filter((l) => l.msg === 'heartbeat timeout; terminating')).toHaveLength(1)
      // The live provider, which answers pings, is still connected and syncing.
      expect(b.provider.wsconnected).toBe(true)
    })

    it('a provider whose socket was cut gets its presence back when it reconnects', async () => {
      tandem = await startTandem()
      const [a, b] = [client('back'), client('back')]
      await Promise.all([a.synced(), b.synced()])
      a.provider.awareness.setLocalStateField('user', { name: 'a' })
      await eventually(() => stateOf(b, a) !== undefined, 'b to see a')
      // Cut a's socket without a close frame; hold a's reconnection until b saw the removal, so the
      // server, not a, removed the state (its clock is now above a's own).
      a.provider.shouldConnect = false
      ;(a.provider.ws as unknown as WebSocket).terminate()
      await eventually(() => stateOf(b, a) === undefined, 'a’s presence to be removed', 5_000)
      a.provider.connect()
      await a.synced()
      await eventually(() => (stateOf(b, a)?.user as { name?: string })?.name === 'a', 'a’s presence to come back', 5_000)
      a.provider.awareness.setLocalStateField('user', { name: 'a-again' })
      await eventually(() => (stateOf(b, a)?.user as { name?: string })?.name === 'a-again', 'a’s next change to reach b', 5_000)
    })
  })
})

/** Text, map and state vector of a document, as one comparable string. */
const fingerprint = (doc: Y.Doc): string =>
  JSON.stringify({
    text: doc.getText('text').toString(),
    map: Object.entries(doc.getMap('map').toJSON()).sort(([a], [b]) => (a < b ? -1 : 1)),
    // Sorted: encodeStateVector lists clients in the order this copy happened to learn of them.
    sv: [...Y.decodeStateVector(Y.encodeStateVector(doc))].sort(([a], [b]) => a - b),
  })

const summary = (doc: Y.Doc): string =>
  `sv=${JSON.stringify([...Y.decodeStateVector(Y.encodeStateVector(doc))])} text=${doc.getText('text').length} pending=${doc.store.pendingStructs !== null}`

const randomWord = (random: () => number): string => {
  const length = 1 + Math.floor(random() * 6)
  let word = ''
  for (let i = 0; i < length; i++) word += String.fromCharCode(97 + Math.floor(random() * 26))
  return word
}

/** Runs `body`; a failure's message starts with the seed, so the run can be replayed. */
const withSeed = async (seed: number, body: () => Promise<void>): Promise<void> => {
  try {
    await body()
  } catch (error) {
    if (error instanceof Error) error.message = `[seed ${seed}] ${error.message}`
    throw error
  }
}
