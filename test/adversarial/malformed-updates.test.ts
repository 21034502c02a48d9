import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { ywebsocket } from '@tandem/protocol'
import { rawClient, type RawClient } from '../support/raw-client.js'
import { seededRandom } from '../support/wait.js'
import { broadcastsTo, isEmpty, startArena, syncUpdate, type Arena } from './harness.js'

/**
 * Bytes that are not what they claim. The basic malformed frames (bad varUint, truncated message,
 * text frame, oversized frame, reserved bits) are covered by test/faults/malformed.test.ts; this
 * file goes after the update validator (server/src/validate-update.ts): every refused update
 * closes its sender with 4422 (INVALID_UPDATE), and the server's document is exactly the fold of
 * the updates it accepted.
 */
describe('adversarial: malformed updates', () => {
  let arena: Arena

  beforeAll(async () => {
    arena = await startArena()
  })
  afterAll(async () => {
    await arena.close()
  })

  const BARRIER = ywebsocket.encodeMessage({ type: 'sync-step1', stateVector: new Uint8Array([0]) })

  /**
   * Sends `frame` on `client` and tells whether the server kept the connection: a sync step 1 is
   * sent after it twice (the second one after the end-of-tick apply), and either both answers come
   * back or the socket closes.
   */
  const outcome = async (client: RawClient, frame: Uint8Array): Promise<'accepted' | number> => {
    for (let barrier = 0; barrier < 2; barrier++) {
      const answers = client.received.filter((m) => m.type === 'sync-step2').length
      client.socket.send(barrier === 0 ? frame : BARRIER)
      if (barrier === 0) client.socket.send(BARRIER)
      const result = await new Promise<'answered' | number>((resolve) => {
        // Event-driven (the raw client's own listeners run first, so `received` is up to date).
        const check = () => {
          if (client.closed !== null) done(client.closed.code)
          else if (client.received.filter((m) => m.type === 'sync-step2').length > answers) done('answered')
        }
        const done = (value: 'answered' | number) => {
          client.socket.off('message', onMessage)
          client.socket.off('close', onClose)
          resolve(value)
        }
        const onMessage = () => check()
        const onClose = () => setImmediate(check)
        client.socket.on('message', onMessage)
        client.socket.on('close', onClose)
        check()
      })
      if (result !== 'answered') return result
    }
    return 'accepted'
  }

  /** Runs every frame through connections to `doc`, reconnecting after each close; returns what happened. */
  const hammer = async (doc: string, frames: Uint8Array[], workers = 8): Promise<{ accepted: Uint8Array[]; codes: Map<number, number> }> => {
    const accepted: Uint8Array[] = []
    const codes = new Map<number, number>()
    let next = 0
    await Promise.all(
      Array.from({ length: workers }, async () => {
        let client: RawClient | null = null
        while (next < frames.length) {
          const frame = frames[next++]!
          client ??= await rawClient(arena.url, doc, { syncOnOpen: false })
          const result = await outcome(client, frame)
          if (result === 'accepted') {
            accepted.push(frame)
            continue
          }
          codes.set(result, (codes.get(result) ?? 0) + 1)
          client.close()
          client = null
        }
        client?.close()
      }),
    )
    return { accepted, codes }
  }

  it('10,000 frames of seeded random bytes: each is refused with a documented code or harmless', async ({ annotate }) => {
    // Replay a failure with ADVERSARIAL_SEED=<seed>.
    const seed = Number(process.env.ADVERSARIAL_SEED ?? 20261125)
    await annotate(`seed ${seed}`)
    const random = seededRandom(seed)
    const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256))
    const frames: Uint8Array[] = []
    for (let i = 0; i < 10_000; i++) {
      const payload = bytes(1 + Math.floor(random() * 48))
      // Half raw noise, half noise inside a well-formed sync-update envelope (reaches the validator).
      frames.push(i % 2 === 0 ? payload : syncUpdate(payload))
    }
    const watcher = await arena.watcher('random/doc')
    const { accepted, codes } = await hammer('random/doc', frames, 16)
    expect(accepted.length + [...codes.values()].reduce((a, b) => a + b, 0), `seed ${seed}`).toBe(frames.length)
    // 4400 malformed message, 4422 invalid update; nothing else (no 1011: the server never failed).
    expect([...codes.keys()].filter((code) => code !== 4400 && code !== 4422), `seed ${seed}`).toEqual([])
    expect(codes.get(4422) ?? 0, `seed ${seed}`).toBeGreaterThan(1_000)
    await arena.roundTrip()
    // Whatever the server applied was a valid update it accepted; the stored document is their fold.
    const reference = new Y.Doc()
    for (const frame of accepted) {
      const message = ywebsocket.decodeMessage(frame)
      if (message.type === 'sync-update' || message.type === 'sync-step2') Y.applyUpdate(reference, message.update)
    }
    const stored = await arena.stored('random/doc')
    expect(Y.encodeStateVector(stored), `seed ${seed}`).toEqual(Y.encodeStateVector(reference))
    if (Y.encodeStateVector(reference).length === 1) expect(broadcastsTo(watcher)).toEqual([])
  })

  it('truncated and bit-flipped valid updates: refused (4422) or applied whole, never in part', async () => {
    const source = new Y.Doc()
    source.clientID = 1234
    source.getText('text').insert(0, 'hello world')
    source.getMap('map').set('k', { nested: [1, 2, 3] })
    source.getText('text').delete(2, 3)
    const update = Y.encodeStateAsUpdate(source)
    const frames: Uint8Array[] = []
    for (let cut = 1; cut < update.length; cut++) frames.push(syncUpdate(update.subarray(0, cut)))
    for (let bit = 0; bit < update.length * 8; bit += 3) {
      const flipped = Uint8Array.from(update)
      flipped[bit >> 3]! ^= 1 << (bit & 7)
      frames.push(syncUpdate(flipped))
    }
    const watcher = await arena.watcher('flips/doc')
    // One worker: the reference fold below must see the accepted updates in the server's order.
    const { accepted, codes } = await hammer('flips/doc', frames, 1)
    expect(codes.get(4422) ?? 0).toBeGreaterThan(frames.length / 2)
    expect([...codes.keys()].filter((code) => code !== 4422 && code !== 1008 && code !== 1013)).toEqual([])
    const reference = new Y.Doc()
    for (const frame of accepted) Y.applyUpdate(reference, (ywebsocket.decodeMessage(frame) as { update: Uint8Array }).update)
    const stored = await arena.stored('flips/doc')
    expect(Y.encodeStateVector(stored)).toEqual(Y.encodeStateVector(reference))
    expect(stored.getText('text').toString()).toBe(reference.getText('text').toString())
    // Broadcasts carried only what was accepted.
    const heard = new Y.Doc()
    for (const message of broadcastsTo(watcher)) Y.applyUpdate(heard, (message as { update: Uint8Array }).update)
    expect(Y.encodeStateVector(heard)).toEqual(Y.encodeStateVector(stored))
    await arena.roundTrip()
  })

  it('valid structs followed by a broken delete set: 4422, and not even the structs are applied', async () => {
    const source = new Y.Doc()
    source.getText('text').insert(0, 'structs that Yjs would apply before failing')
    const broken = Uint8Array.from(Y.encodeStateAsUpdate(source))
    broken[broken.length - 1] = 9 // "9 delete-set clients" with no bytes left
    const watcher = await arena.watcher('broken-ds/doc')
    const attacker = await rawClient(arena.url, 'broken-ds/doc')
    await attacker.synced()
    attacker.sendUpdate(broken)
    expect((await attacker.whenClosed()).code).toBe(4422)
    attacker.close()
    await arena.roundTrip()
    expect(broadcastsTo(watcher)).toEqual([])
    expect(isEmpty(await arena.stored('broken-ds/doc'))).toBe(true)
  })

  it('a 10-byte update claiming 30 million structs, 100 times: each refused (4422) while the probe keeps round-tripping', async ({ annotate }) => {
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, 1) // one client
    encoding.writeVarUint(encoder, 30_000_000) // structs
    encoding.writeVarUint(encoder, 1) // client id
    encoding.writeVarUint(encoder, 0) // clock
    encoding.writeUint8(encoder, 0) // a GC struct
    encoding.writeVarUint(encoder, 1)
    const bomb = encoding.toUint8Array(encoder)
    expect(bomb.length).toBeLessThanOrEqual(10)
    const watcher = await arena.watcher('bomb/doc')
    let attacking = true
    let roundTrips = 0
    const probing = (async () => {
      while (attacking) {
        await arena.roundTrip()
        roundTrips++
      }
    })()
    const started = performance.now()
    const codes: number[] = []
    for (let i = 0; i < 100; i++) {
      const attacker = await rawClient(arena.url, 'bomb/doc', { syncOnOpen: false })
      attacker.sendUpdate(bomb)
      codes.push((await attacker.whenClosed()).code)
      attacker.close()
    }
    const elapsed = performance.now() - started
    attacking = false
    await probing
    expect(codes.every((code) => code === 4422)).toBe(true)
    expect(roundTrips).toBeGreaterThan(0)
    await annotate(`100 bombs refused in ${elapsed.toFixed(0)} ms; ${roundTrips} probe round trips meanwhile`)
    expect(broadcastsTo(watcher)).toEqual([])
    expect(isEmpty(await arena.stored('bomb/doc'))).toBe(true)
  })
})
