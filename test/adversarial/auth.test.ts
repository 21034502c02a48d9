import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { SignJWT } from 'jose'
import { multiplexed, ywebsocket } from '@tandem/protocol'
import { rawClient } from '../support/raw-client.js'
import { eventually } from '../support/wait.js'
import { broadcastsTo, isEmpty, SECRET, startArena, upgradeStatus, type Arena } from './harness.js'

/**
 * Authentication, authorisation, read-only connections and the Origin allowlist. Each case:
 * (a) the documented status or close code (docs/errors.md), (b) the probe still round-trips,
 * (c) nothing of the refused input was applied, broadcast or stored.
 */
describe('adversarial: authentication and access', () => {
  let arena: Arena
  const DOC = 'team/target'

  beforeAll(async () => {
    arena = await startArena({ auth: true, config: { allowedOrigins: ['https://app.example'] } })
  })
  afterAll(async () => {
    await arena.close()
  })

  /** Everything a refusal must leave untouched: the probe works, no broadcast, nothing stored. */
  const untouched = async (watcher: Awaited<ReturnType<Arena['watcher']>>) => {
    await arena.roundTrip()
    expect(broadcastsTo(watcher)).toEqual([])
    expect(isEmpty(await arena.stored(DOC))).toBe(true)
  }

  const watch = async () => arena.watcher(DOC, `token=${await arena.token([DOC], 'read')}`)

  it('no token: 401 before the upgrade', async () => {
    const watcher = await watch()
    expect(await upgradeStatus(`${arena.url}/${DOC}`)).toBe(401)
    expect((await arena.rejections()).UNAUTHORIZED).toBeGreaterThanOrEqual(1)
    await untouched(watcher)
  })

  it('expired token (past the clock tolerance): 401', async () => {
    const watcher = await watch()
    const expired = await arena.token([DOC], 'write', Math.floor(Date.now() / 1000) - 60)
    expect(await upgradeStatus(`${arena.url}/${DOC}?token=${expired}`)).toBe(401)
    const log = arena.tandem.logs.findLast((line) => line.msg === 'upgrade refused')
    expect(log?.reason).toContain('token expired')
    // Tokens are never logged.
    expect(JSON.stringify(arena.tandem.logs)).not.toContain(expired)
    await untouched(watcher)
  })

  it('wrong signature: 401', async () => {
    const watcher = await watch()
    const forged = await new SignJWT({ docs: [DOC], access: 'write' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(`${SECRET}-not`))
    expect(await upgradeStatus(`${arena.url}/${DOC}?token=${forged}`)).toBe(401)
    // alg "none" is never accepted either.
    const [, payload] = forged.split('.')
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`
    expect(await upgradeStatus(`${arena.url}/${DOC}?token=${unsigned}`)).toBe(401)
    await untouched(watcher)
  })

  it('a token for another document: 403; patterns cover one path segment per *', async () => {
    const watcher = await watch()
    expect(await upgradeStatus(`${arena.url}/${DOC}?token=${await arena.token(['team/other'])}`)).toBe(403)
    expect(await upgradeStatus(`${arena.url}/${DOC}?token=${await arena.token(['other/*'])}`)).toBe(403)
    expect(await upgradeStatus(`${arena.url}/team/a/b?token=${await arena.token(['team/*'])}`)).toBe(403)
    expect(await upgradeStatus(`${arena.url}/team/a/b?token=${await arena.token(['team/**'])}`)).toBe(101)
    expect(await upgradeStatus(`${arena.url}/${DOC}?token=${await arena.token(['team/*'])}`)).toBe(101)
    expect((await arena.rejections()).FORBIDDEN).toBeGreaterThanOrEqual(3)
    await untouched(watcher)
  })

  it('a token in Sec-WebSocket-Protocol is accepted, and an offered protocol is echoed (RFC 6455)', async () => {
    const token = await arena.token([DOC])
    const both = new WebSocket(`${arena.url}/${DOC}`, ['tandem', `tandem.token.${token}`])
    await new Promise((resolve, reject) => both.once('open', resolve).once('error', reject))
    expect(both.protocol).toBe('tandem')
    both.terminate()
    const only = new WebSocket(`${arena.url}/${DOC}`, [`tandem.token.${token}`])
    await new Promise((resolve, reject) => only.once('open', resolve).once('error', reject))
    expect(only.protocol).toBe(`tandem.token.${token}`)
    only.terminate()
    expect(await upgradeStatus(`${arena.url}/${DOC}`, { protocols: ['tandem', 'tandem.token.garbage'] })).toBe(401)
  })

  it('a read-only client: its sync answer is dropped, its awareness flows, its write closes it with 4403 (READ_ONLY)', async () => {
    const watcher = await watch()
    const reader = await rawClient(arena.url, `${DOC}?token=${await arena.token([DOC], 'read')}`)
    await reader.synced()
    const evil = new Y.Doc()
    evil.getText('text').insert(0, 'written by a reader')
    // The step 2 every client sends: ignored, not fatal.
    reader.send({ type: 'sync-step2', update: Y.encodeStateAsUpdate(evil) })
    reader.sendAwareness([{ clientId: evil.clientID, clock: 1, state: JSON.stringify({ name: 'reader' }) }])
    await eventually(
      () => watcher.received.some((m) => m.type === 'awareness' && ywebsocket.encodeMessage(m).length > 3),
      'the reader’s awareness to reach the watcher',
    )
    expect(reader.closed).toBeNull()
    reader.sendUpdate(Y.encodeStateAsUpdate(evil))
    expect((await reader.whenClosed()).code).toBe(4403)
    reader.close()
    await untouched(watcher)
  })

  it('a hostile Origin: 403 before the upgrade; an allowed one passes', async () => {
    const token = await arena.token([DOC])
    expect(await upgradeStatus(`${arena.url}/${DOC}?token=${token}`, { headers: { Origin: 'https://evil.example' } })).toBe(403)
    expect(await upgradeStatus(`${arena.url}/${DOC}?token=${token}`, { headers: { Origin: 'https://app.example' } })).toBe(101)
    expect((await arena.rejections()).ORIGIN_NOT_ALLOWED).toBeGreaterThanOrEqual(1)
    await arena.roundTrip()
  })

  it('multiplexed: an update sent before auth is held, and dropped when the token is refused', async () => {
    const watcher = await watch()
    const socket = new WebSocket(`${arena.url}/`)
    const frames: multiplexed.MultiplexedFrame[] = []
    socket.on('message', (data: Buffer) => frames.push(multiplexed.decodeFrame(new Uint8Array(data))))
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject))
    const evil = new Y.Doc()
    evil.getText('text').insert(0, 'before auth')
    socket.send(multiplexed.encodeDocumentFrame(DOC, { type: 'sync-update', update: Y.encodeStateAsUpdate(evil) }))
    socket.send(multiplexed.encodeDocumentFrame(DOC, { type: 'auth-token', token: 'not-a-jwt', version: null }))
    await eventually(
      () => frames.some((f) => f.type === 'document' && f.message.type === 'auth-permission-denied'),
      'the permission-denied answer',
    )
    expect(frames.some((f) => f.type === 'document' && f.message.type === 'sync-step2')).toBe(false)
    socket.terminate()
    await untouched(watcher)
  })
})
