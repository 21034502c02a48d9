import { encodeOwnAwareness, scanAwareness } from '../awareness.js'
import { BenchClient, mapLimit, until } from '../client.js'
import { nowMicros } from '../markers.js'
import { PhaseMeter } from '../proc-stats.js'
import { cpuMetrics, errorMessage, round, type RunResult, type Scenario } from '../scenario.js'
import type { Dialect } from '../wire.js'
import { range, spread } from '../worker-pool.js'

/**
 * S8 presence storm: N clients join one document at once, each with an awareness state (name,
 * color, cursor), as the real providers do on open. Done when every client has seen the state of
 * every other one.
 */

interface PresenceState {
  clients: BenchClient[]
  /** Per local client: which of the N clients it has seen (1 byte each). */
  seen: Uint8Array[]
  counts: Int32Array
  doneAt: Float64Array
  complete: number
}

let presence: PresenceState | null = null

export const presenceHandlers = {
  'presence.run': async (args: {
    base: string
    dialect: Dialect
    doc: string
    indices: number[]
    total: number
    baseClientId: number
    concurrency: number
    startAt: number
    timeoutMs: number
  }) => {
    const local = args.indices.length
    const s: PresenceState = {
      clients: [],
      seen: args.indices.map(() => new Uint8Array(args.total)),
      counts: new Int32Array(local),
      doneAt: new Float64Array(local),
      complete: 0,
    }
    presence = s
    const others = args.total - 1
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, (args.startAt - nowMicros()) / 1000)))
    const deadline = Date.now() + args.timeoutMs
    const onAwareness = (slot: number, self: number) => (payload: Uint8Array, at: number) => {
      if (s.counts[slot] === others) return
      const seen = s.seen[slot]!
      scanAwareness(payload, (clientID, present) => {
        const index = clientID - args.baseClientId
        if (!present || index < 0 || index >= args.total || index === self || seen[index] === 1) return
        seen[index] = 1
        if (++s.counts[slot]! === others) {
          s.doneAt[slot] = at
          s.complete++
        }
      })
    }
    let connectError: unknown = null
    s.clients = await mapLimit(args.indices, args.concurrency, (index, slot) => {
      const clientID = args.baseClientId + index
      return BenchClient.open({
        base: args.base,
        dialect: args.dialect,
        doc: args.doc,
        awareness: encodeOwnAwareness(clientID, 1, {
          user: { name: `user-${index}`, color: `#${(index * 2654435761).toString(16).slice(-6).padStart(6, '0')}` },
          cursor: null,
        }),
        handlers: { onAwareness: onAwareness(slot, index) },
      }).catch((error: unknown) => {
        connectError ??= error
        return null
      })
    }).then((clients) => clients.filter((client): client is BenchClient => client !== null))
    const connectedAt = nowMicros()
    await until(() => s.complete === local, Math.max(1, deadline - Date.now()), 'every client sees every other', 10).catch(() => undefined)
    const lastDone = s.complete === local ? Math.max(...s.doneAt) : NaN
    return {
      connected: s.clients.length,
      connectError: connectError === null ? null : errorMessage(connectError),
      complete: s.complete,
      connectedAt,
      doneAt: lastDone,
      // How much of "every pair" was reached, for runs that hit the deadline.
      pairsSeen: s.counts.reduce((sum, count) => sum + count, 0),
    }
  },

  'presence.close': async () => {
    const s = presence
    presence = null
    if (s !== null) await Promise.all(s.clients.map((client) => client.close()))
    return null
  },
}

export const presenceScenario: Scenario = {
  id: 'S8',
  title: 'S8 presence storm',
  // The raw relay keeps no awareness, so a joiner never hears of the clients already there.
  applies: (spec) => spec.stateful,
  async run(context) {
    const { profile, pool, spec, rep } = context
    const settings = profile.s8
    const results: RunResult[] = []
    for (const clients of settings.clients) {
      // A fresh server per size: what one storm leaves behind must not slow the next.
      const server = await context.start()
      const variant = `clients=${clients}`
      const notes = [`dialect ${spec.dialect}`]
      try {
        const indices = spread(range(clients), pool.size)
        const baseClientId = 1_000_000 + Math.floor(Math.random() * 1_000_000_000)
        const serverMeter = new PhaseMeter([server.pid])
        const clientMeter = new PhaseMeter(pool.pids)
        const startAt = nowMicros() + 200_000
        const timer = setTimeout(() => {
          serverMeter.start()
          clientMeter.start()
        }, 200)
        const parts = await pool.all<{
          connected: number
          connectError: string | null
          complete: number
          connectedAt: number
          doneAt: number
          pairsSeen: number
        }>('presence.run', (index) => ({
          base: server.base,
          dialect: spec.dialect,
          doc: `s8-${clients}-${rep}`,
          indices: indices[index],
          total: clients,
          baseClientId,
          concurrency: settings.concurrency,
          startAt,
          timeoutMs: settings.timeoutMs,
        }))
        clearTimeout(timer)
        const serverUse = serverMeter.stop()
        const clientUse = clientMeter.stop()
        const complete = parts.reduce((sum, part) => sum + part.complete, 0)
        const pairs = parts.reduce((sum, part) => sum + part.pairsSeen, 0)
        for (const part of parts) if (part.connectError !== null) notes.push(`connect failed: ${part.connectError}`)
        const allDone = complete === clients
        if (!allDone) notes.push(`deadline of ${settings.timeoutMs} ms passed with ${clients - complete} clients incomplete`)
        results.push({
          scenario: 'S8',
          variant,
          server: spec.id,
          rep,
          metrics: {
            clients,
            allAwareMs: allDone ? round((Math.max(...parts.map((part) => part.doneAt)) - startAt) / 1000, 1) : NaN,
            connectMs: round((Math.max(...parts.map((part) => part.connectedAt)) - startAt) / 1000, 1),
            pairsSeenShare: round(pairs / (clients * (clients - 1)), 4),
            serverCpuSeconds: round(serverUse.cpuSeconds, 2),
            ...cpuMetrics('', serverUse, clientUse),
          },
          notes,
        })
      } catch (error) {
        results.push({ scenario: 'S8', variant, server: spec.id, rep, metrics: {}, notes, error: errorMessage(error) })
      } finally {
        await pool.all('presence.close', () => ({}))
        await server.stop()
        server.removeData()
      }
    }
    return results
  },
}
