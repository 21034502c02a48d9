import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from 'y-protocols/awareness'
import { PRESENCE_COLORS, colorFor, lighten, listParticipants, readUser, setLocalUser, watchParticipants } from './presence.js'

const opened: Awareness[] = []
const awarenessOf = (clientID: number): Awareness => {
  const doc = new Y.Doc()
  doc.clientID = clientID
  const awareness = new Awareness(doc)
  opened.push(awareness)
  return awareness
}
/** Copies every state of `from` into `to`, as a provider would over the wire. */
const relay = (from: Awareness, to: Awareness) =>
  applyAwarenessUpdate(to, encodeAwarenessUpdate(from, [...new Set([from.clientID, ...from.getStates().keys()])]), 'test')

afterEach(() => {
  for (const awareness of opened.splice(0)) awareness.destroy()
})

describe('presence', () => {
  it('derives a stable palette color from the user id', () => {
    expect(colorFor('user-42')).toBe(colorFor('user-42'))
    expect(PRESENCE_COLORS).toContain(colorFor('user-42'))
    const colors = new Set(Array.from({ length: 50 }, (_, i) => colorFor(`user-${i}`)))
    expect(colors.size).toBeGreaterThan(6)
  })

  it('publishes the user field that editor bindings read', () => {
    const awareness = awarenessOf(1)
    const user = setLocalUser(awareness, { name: 'Ada', id: 'ada@example.com' })
    expect(user.color).toBe(colorFor('ada@example.com'))
    expect(user.colorLight).toBe(lighten(user.color))
    expect(awareness.getLocalState()?.user).toEqual({ name: 'Ada', color: user.color, colorLight: `${user.color}33`, id: 'ada@example.com' })
  })

  it('keeps a given color', () => {
    const awareness = awarenessOf(1)
    expect(setLocalUser(awareness, { name: 'Ada', color: '#123456' }).color).toBe('#123456')
    expect(readUser(awareness.getLocalState())).toEqual({ name: 'Ada', color: '#123456' })
  })

  it('reads both the state.user shape and the top-level Lexical shape', () => {
    expect(readUser({ user: { name: 'Ada', color: '#ff0000' }, cursor: null })).toEqual({ name: 'Ada', color: '#ff0000' })
    expect(readUser({ name: 'Lin', color: '#00ff00', focusing: true, anchorPos: null })).toEqual({ name: 'Lin', color: '#00ff00' })
    expect(readUser({ name: 'NoColor' })).toEqual({ name: 'NoColor', color: colorFor('NoColor') })
    expect(readUser({ cursor: { anchor: 1 } })).toBeNull()
    expect(readUser(null)).toBeNull()
  })

  it('lists who is here across peers, the local user first', () => {
    const local = awarenessOf(1)
    const bob = awarenessOf(2)
    const lexical = awarenessOf(3)
    const anonymous = awarenessOf(4)
    setLocalUser(local, { name: 'Zoe' })
    setLocalUser(bob, { name: 'Bob' })
    lexical.setLocalState({ name: 'Ann', color: '#abcdef', focusing: false })
    anonymous.setLocalState({ cursor: null })
    for (const peer of [bob, lexical, anonymous]) relay(peer, local)

    const here = listParticipants(local)
    expect(here.map((p) => [p.clientId, p.name, p.isLocal])).toEqual([
      [1, 'Zoe', true],
      [3, 'Ann', false],
      [2, 'Bob', false],
    ])
    expect(here[1]?.color).toBe('#abcdef')
  })

  it('reports arrivals and departures to a watcher until unsubscribed', () => {
    const local = awarenessOf(1)
    const bob = awarenessOf(2)
    setLocalUser(local, { name: 'Ada' })
    const seen: string[][] = []
    const stop = watchParticipants(local, (participants) => seen.push(participants.map((p) => p.name)))
    setLocalUser(bob, { name: 'Bob' })
    relay(bob, local)
    bob.setLocalState(null)
    relay(bob, local)
    stop()
    setLocalUser(bob, { name: 'Bob again' })
    relay(bob, local)
    expect(seen).toEqual([['Ada'], ['Ada', 'Bob'], ['Ada']])
  })
})
