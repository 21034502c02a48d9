import { BenchClient, mapLimit } from '../client.js'
import { Histogram, summarizeMicros, type HistogramData } from '../histogram.js'
import { markedEdit, nowMicros, scanMarkers } from '../markers.js'
import { PhaseMeter, startMetersAt } from '../proc-stats.js'
import { cpuMetrics, errorMessage, round, type RunResult, type Scenario } from '../scenario.js'
import { TextAppender } from '../text-update.js'
import type { Dialect } from '../wire.js'
import { range, spread } from '../worker-pool.js'

/**
 * S2 throughput (and S6, the same on servers with storage on and off): one document, W writers
 * sending as fast as delivery allows, R readers counting what arrives.
 *
 * Flow control is end to end: a writer may have at most `window` edits that the readers in its own
 * worker process have not seen yet. That keeps the server saturated without letting socket
 * buffers grow without bound, so "latency under load" is the queueing a client would really see
 * rather than the size of the kernel's buffers. A worker without readers falls back to socket
 * backpressure (`bufferedAmount`).
 */

interface Writer {
  readonly index: number
  readonly client: BenchClient
  readonly appender: TextAppender
  sent: number
}

interface ThroughputState {
  writers: Writer[]
  readers: BenchClient[]
  /** lastSeen[reader * totalWriters + writer] = highest seq seen. */
  lastSeen: Int32Array
  totalWriters: number
  histogram: Histogram
  delivered: number
  measureFrom: number
  endAt: number
  pump: (() => void) | null
}

let state: ThroughputState | null = null

export const throughputHandlers = {
  'tp.open': async (args: { base: string; dialect: Dialect; doc: string; writers: number[]; readers: number; totalWriters: number; timeoutMs: number }) => {
    const s: ThroughputState = {
      writers: [],
      readers: [],
      lastSeen: new Int32Array(args.readers * args.totalWriters).fill(-1),
      totalWriters: args.totalWriters,
      histogram: new Histogram(),
      delivered: 0,
      measureFrom: Infinity,
      endAt: 0,
      pump: null,
    }
    state = s
    let pumpScheduled = false
    const schedulePump = () => {
      if (pumpScheduled || s.pump === null) return
      pumpScheduled = true
      setImmediate(() => {
        pumpScheduled = false
        s.pump?.()
      })
    }
    s.readers = await mapLimit(range(args.readers), 20, (reader) =>
      BenchClient.connect(
        {
          base: args.base,
          dialect: args.dialect,
          doc: args.doc,
          handlers: {
            onUpdate: (payload, at) => {
              const counted = at >= s.measureFrom && at < s.endAt
              scanMarkers(payload, (writer, seq, sentAt) => {
                const slot = reader * s.totalWriters + writer
                if (writer < s.totalWriters && seq > s.lastSeen[slot]!) s.lastSeen[slot] = seq
                if (counted) {
                  s.delivered++
                  s.histogram.record(at - sentAt)
                }
              })
              schedulePump()
            },
          },
        },
        args.timeoutMs,
      ),
    )
    s.writers = await mapLimit(args.writers, 20, async (index) => ({
      index,
      client: await BenchClient.connect({ base: args.base, dialect: args.dialect, doc: args.doc, ignoreBroadcasts: true }, args.timeoutMs),
      appender: new TextAppender(500_000 + index),
      sent: 0,
    }))
    return null
  },

  'tp.run': async (args: { startAt: number; measureFrom: number; endAt: number; window: number; editLength: number }) => {
    const s = requireState()
    s.measureFrom = args.measureFrom
    s.endAt = args.endAt
    const readers = s.readers.length
    const confirmed = (writer: number): number => {
      let min = Infinity
      for (let reader = 0; reader < readers; reader++) {
        const seen = s.lastSeen[reader * s.totalWriters + writer]!
        if (seen < min) min = seen
      }
      return min
    }
    await new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, (args.startAt - nowMicros()) / 1000)))
    await new Promise<void>((resolve) => {
      let finished = false
      const finish = () => {
        if (finished) return
        finished = true
        s.pump = null
        clearInterval(fallback)
        resolve()
      }
      s.pump = () => {
        if (nowMicros() >= args.endAt) {
          finish()
          return
        }
        for (const writer of s.writers) {
          let budget =
            readers > 0 ? args.window - (writer.sent - 1 - confirmed(writer.index)) : writer.client.bufferedAmount < 65_536 ? args.window : 0
          while (budget-- > 0) {
            writer.client.sendUpdate(writer.appender.append(markedEdit(writer.index, writer.sent, nowMicros(), args.editLength)))
            writer.sent++
          }
        }
      }
      // Readers wake the pump as edits arrive; this timer covers the start, the end and writers without local readers.
      const fallback = setInterval(() => s.pump?.(), 1)
      s.pump()
    })
    return {
      delivered: s.delivered,
      sent: s.writers.reduce((sum, writer) => sum + writer.sent, 0),
      histogram: s.histogram.toJSON(),
    }
  },

  'tp.close': async () => {
    const s = state
    state = null
    if (s === null) return null
    await Promise.all([...s.readers, ...s.writers.map((writer) => writer.client)].map((client) => client.close()))
    return null
  },
}

const requireState = (): ThroughputState => {
  if (state === null) throw new Error('tp.open first')
  return state
}

export const throughputScenario: Scenario = {
  id: 'S2',
  title: 'S2 throughput',
  applies: () => true,
  async run(context) {
    const { profile, pool, spec, rep } = context
    const settings = profile.s2
    const server = await context.start()
    const doc = `s2-${rep}-${Date.now()}`
    const writerLists = spread(range(settings.writers), pool.size)
    const readerCounts = spread(range(settings.readers), pool.size).map((list) => list.length)
    const notes = [`dialect ${spec.dialect}`, `window ${settings.window} edits per writer`]
    try {
      await pool.all('tp.open', (index) => ({
        base: server.base,
        dialect: spec.dialect,
        doc,
        writers: writerLists[index],
        readers: readerCounts[index],
        totalWriters: settings.writers,
        timeoutMs: 30_000,
      }))
      const serverMeter = new PhaseMeter([server.pid])
      const clientMeter = new PhaseMeter(pool.pids)
      const startAt = nowMicros() + 200_000
      const measureFrom = startAt + settings.warmupSeconds * 1e6
      const endAt = measureFrom + settings.seconds * 1e6
      const cancelMeters = startMetersAt(measureFrom, serverMeter, clientMeter)
      const parts = await pool.all<{ delivered: number; sent: number; histogram: HistogramData }>('tp.run', () => ({
        startAt,
        measureFrom,
        endAt,
        window: settings.window,
        editLength: settings.editLength,
      }))
      cancelMeters()
      const serverUse = serverMeter.stop()
      const clientUse = clientMeter.stop()
      const delivered = parts.reduce((sum, part) => sum + part.delivered, 0)
      const sent = parts.reduce((sum, part) => sum + part.sent, 0)
      const latency = summarizeMicros(Histogram.from(parts.map((part) => part.histogram)))
      return [
        {
          scenario: 'S2',
          variant: '',
          server: spec.id,
          rep,
          metrics: {
            writers: settings.writers,
            readers: settings.readers,
            updatesPerSec: round(delivered / settings.seconds, 0),
            editsSentPerSec: round(sent / (settings.seconds + settings.warmupSeconds), 0),
            p50Ms: round(latency.p50Ms, 3),
            p99Ms: round(latency.p99Ms, 3),
            maxMs: round(latency.maxMs, 3),
            ...cpuMetrics('', serverUse, clientUse),
          },
          notes,
        },
      ]
    } catch (error) {
      return [{ scenario: 'S2', variant: '', server: spec.id, rep, metrics: {}, notes, error: errorMessage(error) }]
    } finally {
      await pool.all('tp.close', () => ({}))
      await server.stop()
      server.removeData()
    }
  },
}
