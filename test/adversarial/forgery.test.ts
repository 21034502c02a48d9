import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { rawClient } from '../support/raw-client.js'
import { yClient, type YClient } from '../support/y-websocket-client.js'
import { eventually } from '../support/wait.js'
import { startArena, type Arena } from './harness.js'

/** A GC struct for `client` covering `[clock, clock + length)`: what a forger sends. */
const gcUpdate = (client: number, clock: number, length: number): Uint8Array => {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 1)
  encoding.writeVarUint(encoder, 1)
  encoding.writeVarUint(encoder, client)
  encoding.writeVarUint(encoder, clock)
  encoding.writeUint8(encoder, 0)
  encoding.writeVarUint(encoder, length)
  encoding.writeVarUint(encoder, 0) // empty delete set
  return encoding.toUint8Array(encoder)
}

/** No client can pass for another live one: not in the document, not in awareness. */
describe('adversarial: forging other clients', () => {
  let arena: Arena
  const opened: YClient[] = []

  beforeAll(async () => {
    arena = await startArena()
  })
  afterAll(async () => {
    for (const client of opened) client.destroy()
    await arena.close()
  })

  const pair = async (doc: string) => {
    const victim = yClient(arena.url, doc)
    const observer = yClient(arena.url, doc)
    opened.push(victim, observer)
    await Promise.all([victim.synced(), observer.synced()])
    return { victim, observer }
  }

  it('a GC struct claiming a live client’s ID and next clocks: closed 1008 (CLIENT_ID_IN_USE); the victim’s later edits still reach everyone', async () => {
    const { victim, observer } = await pair('forge/gc')
    victim.text.insert(0, 'mine')
    await eventually(() => observer.text.toString() === 'mine', 'the victim’s first edit')
    const attacker = await rawClient(arena.url, 'forge/gc')
    await attacker.synced()
    const next = Y.getState(victim.doc.store, victim.doc.clientID)
    attacker.sendUpdate(gcUpdate(victim.doc.clientID, next, 1_000_000))
    expect((await attacker.whenClosed()).code).toBe(1008)
    attacker.close()
    victim.text.insert(4, ' and still mine')
    await eventually(() => observer.text.toString() === 'mine and still mine', 'the victim’s later edit to reach the observer')
    const stored = await arena.stored('forge/gc')
    expect(Y.getState(stored.store, victim.doc.clientID)).toBe(Y.getState(victim.doc.store, victim.doc.clientID))
    expect((await arena.rejections()).CLIENT_ID_IN_USE).toBeGreaterThanOrEqual(1)
    await arena.roundTrip()
  })

  it('re-sending structs the server already has is no forgery (every resync does it)', async () => {
    const { victim, observer } = await pair('forge/resend')
    victim.text.insert(0, 'shared')
    await eventually(() => observer.text.toString() === 'shared', 'the edit')
    const other = await rawClient(arena.url, 'forge/resend')
    await other.synced()
    other.sendUpdate(Y.encodeStateAsUpdate(victim.doc))
    // Still open after the end-of-tick apply: a barrier round trip comes back.
    other.send({ type: 'sync-step1', stateVector: new Uint8Array([0]) })
    await eventually(() => other.received.filter((m) => m.type === 'sync-step2').length >= 2, 'the barrier answer')
    expect(other.closed).toBeNull()
    other.close()
  })

  it('awareness for another live client’s ID is dropped; the connection stays (y-websocket clients echo such entries)', async () => {
    const { victim, observer } = await pair('forge/awareness')
    victim.provider.awareness.setLocalStateField('name', 'victim')
    await eventually(() => observer.provider.awareness.getStates().get(victim.doc.clientID)?.name === 'victim', 'the victim’s presence')
    const attacker = await rawClient(arena.url, 'forge/awareness')
    await attacker.synced()
    attacker.sendAwareness([{ clientId: victim.doc.clientID, clock: 1_000, state: JSON.stringify({ name: 'impostor' }) }])
    attacker.sendAwareness([{ clientId: 777_001, clock: 1, state: JSON.stringify({ name: 'attacker itself' }) }])
    // Its own entry arrives, after the forged one: so the forged one was processed and dropped.
    await eventually(() => observer.provider.awareness.getStates().get(777_001) !== undefined, 'the attacker’s own presence')
    expect(observer.provider.awareness.getStates().get(victim.doc.clientID)?.name).toBe('victim')
    expect(attacker.closed).toBeNull()
    attacker.close()
    await arena.roundTrip()
  })

  it('an awareness clock at 2^53-1 is dropped, so it cannot pin a state', async () => {
    const { observer } = await pair('forge/clock')
    const attacker = await rawClient(arena.url, 'forge/clock')
    await attacker.synced()
    attacker.sendAwareness([{ clientId: 888_001, clock: Number.MAX_SAFE_INTEGER, state: JSON.stringify({ name: 'pinned' }) }])
    attacker.sendAwareness([{ clientId: 888_002, clock: 1, state: JSON.stringify({ name: 'marker' }) }])
    await eventually(() => observer.provider.awareness.getStates().get(888_002) !== undefined, 'the marker presence')
    expect(observer.provider.awareness.getStates().get(888_001)).toBeUndefined()
    // The same ID with an honest clock is taken.
    attacker.sendAwareness([{ clientId: 888_001, clock: 2, state: JSON.stringify({ name: 'honest' }) }])
    await eventually(() => observer.provider.awareness.getStates().get(888_001)?.name === 'honest', 'the honest clock')
    attacker.close()
  })

  it('a 5 MB awareness state (frame under the 16 MiB maxMessageBytes, state over the 64 KiB cap): closed 4400, relayed to nobody', async () => {
    const { observer } = await pair('forge/huge')
    const attacker = await rawClient(arena.url, 'forge/huge')
    await attacker.synced()
    attacker.sendAwareness([{ clientId: 999_001, clock: 1, state: JSON.stringify({ blob: 'x'.repeat(5 * 1024 * 1024) }) }])
    expect((await attacker.whenClosed()).code).toBe(4400)
    attacker.close()
    await arena.roundTrip()
    expect(observer.provider.awareness.getStates().get(999_001)).toBeUndefined()
  })
})
