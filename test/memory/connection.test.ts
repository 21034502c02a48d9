import type { IncomingMessage } from 'node:http'
import { runInNewContext } from 'node:vm'
import { setFlagsFromString } from 'node:v8'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { startTandem, type RunningTandem } from '../support/tandem.js'
import { eventually, nextEvent } from '../support/wait.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/**
 * What an idle connection keeps alive. A listener made inside the upgrade handler's scope used to
 * keep the whole upgrade request (headers, parser state) for the life of the socket: about 3 KB of
 * the ~10 KB an idle connection cost (BENCHMARKS.md, S5).
 */
describe('an idle y-websocket connection', () => {
  let tandem: RunningTandem | undefined
  afterEach(async () => {
    await tandem?.close()
    tandem = undefined
  })

  it('does not keep its upgrade request alive', async () => {
    tandem = await startTandem()
    const requests: Array<WeakRef<IncomingMessage>> = []
    tandem.server.http.prependListener('upgrade', (request: IncomingMessage) => void requests.push(new WeakRef(request)))
    const sockets: WebSocket[] = []
    for (let i = 0; i < 20; i++) {
      const socket = new WebSocket(`${tandem.url}/idle-${i % 4}`)
      sockets.push(socket)
      await nextEvent(socket, 'open')
    }
    expect(requests).toHaveLength(20)
    // The requests become garbage once the upgrades are done; give the event loop a few turns.
    await eventually(() => {
      gc()
      return requests.every((request) => request.deref() === undefined)
    }, 'every upgrade request to be collected')
    expect(tandem.server.connectionCount).toBe(20)
    for (const socket of sockets) socket.close()
  })
})
