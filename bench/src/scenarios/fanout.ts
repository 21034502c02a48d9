import { BenchClient, mapLimit, until } from '../client.js'
import { EditSpans, type EditSpansData } from '../edit-spans.js'
import { Histogram, summarizeMicros, type HistogramData } from '../histogram.js'
import { markedEdit, nowMicros, scanMarkers } from '../markers.js'
import { PhaseMeter, startMetersAt } from '../proc-stats.js'
import { cpuMetrics, errorMessage, round, type RunResult, type Scenario } from '../scenario.js'
import { TextAppender } from '../text-update.js'
import type { Dialect } from '../wire.js'
import { range, spread } from '../worker-pool.js'

/**
 * S1 fan-out latency: one document, N clients, one of them writing at a fixed rate; every other
 * client records, for each edit, receive time minus the send time embedded in the edit.
 *
 * Per edit, the first and the last delivery are also kept (`EditSpans`): the first is the server's
 * lead (arrival to its first write) plus one trip through the kernel and a worker; the last adds
 * the server's fan-out loop and the workers' queue. They tell a server that starts late from one
 * that sends slowly, which the percentiles of all deliveries mix.
 */

// ---- worker side ----

interface FanoutState {
  readers: BenchClient[]
  lastSeen: Int32Array
  writer: BenchClient | null
  appender: TextAppender | null
  histogram: Histogram
  spans: EditSpans
  measureFrom: number
}

let state: FanoutState | null = null

export const fanoutHandlers = {
  'fanout.open': async (args: { base: string; dialect: Dialect; doc: string; readers: number; writer: boolean; concurrency: number; timeoutMs: number }) => {
    const s: FanoutState = {
      readers: [],
      lastSeen: new Int32Array(args.readers).fill(-1),
      writer: null,
      appender: null,
      histogram: new Histogram(),
      spans: new EditSpans(),
      measureFrom: Infinity,
    }
    state = s
    s.readers = await mapLimit(range(args.readers), args.concurrency, (index) =>
      BenchClient.connect(
        {
          base: args.base,
          dialect: args.dialect,
          doc: args.doc,
          handlers: {
            onUpdate: (payload, at) => {
              scanMarkers(payload, (writer, seq, sentAt) => {
                if (writer !== 0) return
                if (sentAt >= s.measureFrom) {
                  s.histogram.record(at - sentAt)
                  s.spans.record(seq, at - sentAt)
                }
                if (seq > s.lastSeen[index]!) s.lastSeen[index] = seq
              })
            },
          },
        },
        args.timeoutMs,
      ),
    )
    if (args.writer) {
      s.writer = await BenchClient.connect({ base: args.base, dialect: args.dialect, doc: args.doc, ignoreBroadcasts: true }, args.timeoutMs)
      s.appender = new TextAppender(424242)
    }
    return { readers: s.readers.length }
  },

  /** Writes one edit every `1 / rate` s from `startAt` to `endAt` (µs); edits sent after `measureFrom` are measured. */
  'fanout.write': async (args: { startAt: number; endAt: number; rate: number; editLength: number }) => {
    const s = requireState()
    const writer = s.writer
    const appender = s.appender
    if (writer === null || appender === null) throw new Error('this worker has no writer')
    const interval = 1e6 / args.rate
    let nextAt = args.startAt
    let seq = 0
    await new Promise<void>((resolve) => {
      const tick = () => {
        let now = nowMicros()
        while (nextAt <= now && nextAt < args.endAt) {
          now = nowMicros()
          writer.sendUpdate(appender.append(markedEdit(0, seq, now, args.editLength)))
          seq++
          nextAt += interval
        }
        if (nextAt >= args.endAt) resolve()
        else setTimeout(tick, Math.max(0, (nextAt - nowMicros()) / 1000))
      }
      setTimeout(tick, Math.max(0, (args.startAt - nowMicros()) / 1000))
    })
    return { sent: seq, lastSeq: seq - 1 }
  },

  'fanout.arm': async (args: { measureFrom: number }) => {
    requireState().measureFrom = args.measureFrom
    return null
  },

  /** Waits until every reader has the edit `lastSeq` (or the deadline), then hands over the histogram. */
  'fanout.collect': async (args: { lastSeq: number; timeoutMs: number }) => {
    const s = requireState()
    await until(() => s.lastSeen.every((seen) => seen >= args.lastSeq), args.timeoutMs, 'every reader has the last edit').catch(() => undefined)
    const missing = Array.from(s.lastSeen).filter((seen) => seen < args.lastSeq).length
    return { histogram: s.histogram.toJSON(), spans: s.spans.toJSON(), missingReaders: missing }
  },

  'fanout.close': async () => {
    const s = state
    state = null
    if (s === null) return null
    await Promise.all([...s.readers, ...(s.writer === null ? [] : [s.writer])].map((client) => client.close()))
    return null
  },
}

const requireState = (): FanoutState => {
  if (state === null) throw new Error('fanout.open first')
  return state
}

// ---- runner side ----

export const fanoutScenario: Scenario = {
  id: 'S1',
  title: 'S1 fan-out latency',
  applies: () => true,
  async run(context) {
    const { profile, pool, spec, rep } = context
    const settings = profile.s1
    const server = await context.start()
    const results: RunResult[] = []
    try {
      for (const clients of settings.clients) {
        const variant = `clients=${clients}`
        const doc = `s1-${clients}-${rep}-${Date.now()}`
        const readers = spread(range(clients - 1), pool.size).map((list) => list.length)
        const notes: string[] = [`dialect ${spec.dialect}`]
        let cancelMeters = (): void => {}
        try {
          await pool.all('fanout.open', (index) => ({
            base: server.base,
            dialect: spec.dialect,
            doc,
            readers: readers[index],
            writer: index === 0,
            concurrency: 50,
            timeoutMs: 30_000,
          }))
          const serverMeter = new PhaseMeter([server.pid])
          const clientMeter = new PhaseMeter(pool.pids)
          const startAt = nowMicros() + 200_000
          const measureFrom = startAt + settings.warmupSeconds * 1e6
          const endAt = measureFrom + settings.seconds * 1e6
          await pool.all('fanout.arm', () => ({ measureFrom }))
          // CPU over the measured window, as the latencies: not the warm-up's compiles.
          cancelMeters = startMetersAt(measureFrom, serverMeter, clientMeter)
          const { sent, lastSeq } = await pool.call<{ sent: number; lastSeq: number }>(0, 'fanout.write', {
            startAt,
            endAt,
            rate: settings.rate,
            editLength: settings.editLength,
          })
          const collected = await pool.all<{ histogram: HistogramData; spans: EditSpansData; missingReaders: number }>('fanout.collect', () => ({
            lastSeq,
            timeoutMs: 20_000,
          }))
          const serverUse = serverMeter.stop()
          const clientUse = clientMeter.stop()
          const histogram = Histogram.from(collected.map((part) => part.histogram))
          const latency = summarizeMicros(histogram)
          const spans = EditSpans.from(collected.map((part) => part.spans))
          const missing = collected.reduce((sum, part) => sum + part.missingReaders, 0)
          if (missing > 0) notes.push(`${missing} readers never received the last edit`)
          const expected = (clients - 1) * Math.round(settings.seconds * settings.rate)
          results.push({
            scenario: 'S1',
            variant,
            server: spec.id,
            rep,
            metrics: {
              clients,
              editsSent: sent,
              samples: latency.samples,
              deliveredShare: round(latency.samples / Math.max(1, expected), 3),
              p50Ms: round(latency.p50Ms, 3),
              p99Ms: round(latency.p99Ms, 3),
              maxMs: round(latency.maxMs, 3),
              meanMs: round(latency.meanMs, 3),
              firstP50Ms: round(spans.first(0.5) / 1000, 3),
              firstP99Ms: round(spans.first(0.99) / 1000, 3),
              lastP50Ms: round(spans.last(0.5) / 1000, 3),
              lastP99Ms: round(spans.last(0.99) / 1000, 3),
              ...cpuMetrics('', serverUse, clientUse),
            },
            notes,
          })
        } catch (error) {
          results.push({ scenario: 'S1', variant, server: spec.id, rep, metrics: {}, notes, error: errorMessage(error) })
        } finally {
          cancelMeters()
          await pool.all('fanout.close', () => ({}))
        }
      }
    } finally {
      await server.stop()
      server.removeData()
    }
    return results
  },
}
