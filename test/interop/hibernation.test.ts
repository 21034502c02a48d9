import { afterEach, describe, expect, it } from 'vitest'
import { startTandem, type RunningTandem } from '../support/tandem.js'
import { yClient, type YClient } from '../support/y-websocket-client.js'
import { eventually, eventuallyAsync } from '../support/wait.js'

/**
 * A quiet document drops its Y.Doc and keeps only its encoded state (Room.hibernate); clients must
 * not be able to tell: joiners get the full state, writers wake it, and everyone converges.
 */
describe('hibernating documents', () => {
  let tandem: RunningTandem | undefined
  const clients: YClient[] = []
  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy()
    await tandem?.close()
    tandem = undefined
  })

  it('serves joiners from the encoded state and wakes on the next write', async () => {
    tandem = await startTandem({ storage: 'sqlite', config: { hibernateAfterMs: 50 } })
    const server = tandem.server
    const a = yClient(tandem.url, 'quiet')
    clients.push(a)
    await a.synced()
    a.text.insert(0, 'written before the nap')
    // (A room loaded from an empty store starts out hibernating: wait for the write to land first.)
    const storage = tandem.storage
    await eventuallyAsync(async () => (await storage.load('quiet')).updates.length > 0, 'the edit to be stored')
    await eventually(() => server.registry.get('quiet')?.hibernating === true, 'the room to hibernate')

    const b = yClient(tandem.url, 'quiet')
    clients.push(b)
    await b.synced()
    expect(b.text.toString()).toBe('written before the nap')
    expect(server.registry.get('quiet')?.hibernating).toBe(true)

    b.text.insert(0, 'awake: ')
    await eventually(() => a.text.toString() === 'awake: written before the nap', 'a to see b’s edit')
    a.text.insert(a.text.length, '!')
    await eventually(() => b.text.toString() === 'awake: written before the nap!', 'b to see a’s edit')

    // It naps again, and a restart (cold load of what was stored) still serves everything.
    await eventually(() => server.registry.get('quiet')?.hibernating === true, 'the room to hibernate again')
    const stored = await tandem.storage.load('quiet')
    expect(stored.updates.length + (stored.snapshot === null ? 0 : 1)).toBeGreaterThan(0)
    const c = yClient(tandem.url, 'quiet')
    clients.push(c)
    await c.synced()
    expect(c.text.toString()).toBe('awake: written before the nap!')
  })
})
