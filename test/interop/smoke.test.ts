import { afterEach, describe, expect, it } from 'vitest'
import { startTandem, type RunningTandem } from '../support/tandem.js'
import { yClient, type YClient } from '../support/y-websocket-client.js'
import { eventually } from '../support/wait.js'

describe('smoke', () => {
  let tandem: RunningTandem
  const clients: YClient[] = []
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy()
    await tandem?.close()
  })

  it('two y-websocket providers converge', async () => {
    tandem = await startTandem()
    const a = yClient(tandem.url, 'doc-1')
    const b = yClient(tandem.url, 'doc-1')
    clients.push(a, b)
    await Promise.all([a.synced(), b.synced()])
    a.text.insert(0, 'hello')
    await eventually(() => b.text.toString() === 'hello', 'b sees hello')
    b.text.insert(5, ' world')
    await eventually(() => a.text.toString() === 'hello world', 'a sees world')
    expect(a.text.toString()).toBe(b.text.toString())
  })
})
