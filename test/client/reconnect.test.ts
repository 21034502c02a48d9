import { afterEach, describe, expect, it } from 'vitest'
import { MemoryStorage } from '@tandem/storage'
import { startTandem, type RunningTandem } from '../support/tandem.js'
import { tandemClient, type TandemClient } from '../support/tandem-client.js'
import { eventually } from '../support/wait.js'

const CLIENTS = 200
const BACKOFF = { baseMs: 1_000, capMs: 4_000 } as const

/** Interquartile range of a list of numbers. */
const interquartileRange = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
  return at(0.75) - at(0.25)
}

describe('200 clients and a server restart', () => {
  const clients: TandemClient[] = []
  let tandem: RunningTandem | undefined
  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy()
    await tandem?.close()
    tandem = undefined
  })

  it('reconnects spread out by the jittered backoff, and every copy converges', async () => {
    const storage = new MemoryStorage()
    tandem = await startTandem({ storage })
    const port = tandem.port
    for (let i = 0; i < CLIENTS; i++) clients.push(tandemClient(tandem.url, `crowd-${i % 4}`, { backoff: BACKOFF }))
    await eventually(() => clients.every((client) => client.provider.synced), 'all clients synced', 30_000)

    // Watch every client come back.
    const reconnectedAt = new Map<TandemClient, number>()
    for (const client of clients) {
      client.provider.on('status', ({ status }) => {
        if (status === 'connected' && !reconnectedAt.has(client)) reconnectedAt.set(client, Date.now())
      })
    }
    await tandem.close()
    tandem = undefined
    await eventually(() => clients.every((client) => client.provider.status !== 'connected'), 'every client saw the server go')

    // Edits made while the server is down.
    const writers = clients.slice(0, 20)
    writers.forEach((client, i) => client.text.insert(0, `[${i}]`))
    expect(writers.every((client) => !client.provider.saved)).toBe(true)

    tandem = await startTandem({ storage, config: { port } })
    await eventually(() => reconnectedAt.size === CLIENTS, 'every client reconnected', 40_000)
    await eventually(() => clients.every((client) => client.provider.synced && client.provider.saved), 'every client synced and saved', 40_000)

    // All copies of each document are identical and hold every offline edit made to it.
    for (let d = 0; d < 4; d++) {
      const copies = clients.filter((_, i) => i % 4 === d)
      const expected = writers.filter((_, i) => i % 4 === d).length
      await eventually(
        () => new Set(copies.map((client) => client.text.toString())).size === 1 && (copies[0]!.text.toString().match(/\[\d+\]/g) ?? []).length === expected,
        `crowd-${d} converges`,
        20_000,
      )
    }

    // The spread: with "equal jitter", the first retry falls uniformly in [base/2, base] (an
    // interquartile range of base/4); later retries spread wider. Without jitter every client
    // would come back within a few milliseconds of the others.
    const times = [...reconnectedAt.values()]
    const iqr = interquartileRange(times)
    const range = Math.max(...times) - Math.min(...times)
    console.info(`[reconnect] ${CLIENTS} clients: interquartile range ${iqr} ms, full range ${range} ms (base ${BACKOFF.baseMs} ms)`)
    expect(iqr).toBeGreaterThan(BACKOFF.baseMs / 10)
  })
})
