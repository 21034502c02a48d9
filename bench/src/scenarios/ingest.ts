import { BenchClient, until } from '../client.js'
import { nowMicros, scanMarkers } from '../markers.js'
import { PhaseMeter } from '../proc-stats.js'
import { cpuMetrics, errorMessage, round, type Scenario } from '../scenario.js'
import type { Dialect } from '../wire.js'
import { cachedTrace } from './big-doc.js'

/**
 * S7 ingest: one client pushes the editing trace as single updates (one message per operation,
 * in order, as fast as its socket drains) into an empty document. Done when the server has them
 * all: every update acknowledged, where the server acknowledges (multiplexed SyncStatus); and, on
 * every server, when a second client has received the trace's last operation (a server keeps one
 * sender's order, so the last one arrives last).
 */

let reader: BenchClient | null = null
let readerDoneAt = 0
let writer: BenchClient | null = null

export const ingestHandlers = {
  /** Does this server speak the multiplexed dialect? */
  'probe.multiplexed': async (args: { base: string; timeoutMs: number }) => {
    try {
      const client = await BenchClient.connect({ base: args.base, dialect: 'multiplexed', doc: `probe-${Date.now()}` }, args.timeoutMs)
      await client.close()
      return true
    } catch {
      return false
    }
  },

  'ingest.reader': async (args: { base: string; dialect: Dialect; doc: string; operations: number; timeoutMs: number }) => {
    readerDoneAt = 0
    reader = await BenchClient.connect(
      {
        base: args.base,
        dialect: args.dialect,
        doc: args.doc,
        handlers: {
          onUpdate: (payload, at) => {
            if (readerDoneAt !== 0) return
            scanMarkers(payload, (writerIndex, seq) => {
              if (writerIndex === 0 && seq === args.operations) readerDoneAt = at
            })
          },
        },
      },
      args.timeoutMs,
    )
    return null
  },

  'ingest.readerWait': async (args: { timeoutMs: number }) => {
    await until(() => readerDoneAt !== 0, args.timeoutMs, 'the reader received the last operation')
    return { doneAt: readerDoneAt, frames: reader?.framesIn ?? 0, bytes: reader?.bytesIn ?? 0 }
  },

  'ingest.write': async (args: { base: string; dialect: Dialect; doc: string; tracePath: string; acks: boolean; highWaterBytes: number; timeoutMs: number }) => {
    const trace = cachedTrace(args.tracePath)
    writer = await BenchClient.connect({ base: args.base, dialect: args.dialect, doc: args.doc }, args.timeoutMs)
    const client = writer
    const startedAt = nowMicros()
    const updates = trace.updates
    let index = 0
    let wake: (() => void) | null = null
    const onWritten = () => {
      if (wake !== null && client.bufferedAmount <= args.highWaterBytes / 2) {
        wake()
        wake = null
      }
    }
    while (index < updates.length) {
      while (index < updates.length && client.bufferedAmount <= args.highWaterBytes) client.sendUpdate(updates[index++]!, onWritten)
      // Socket backpressure: wait until the kernel has taken half of what is queued.
      if (index < updates.length) await new Promise<void>((resolve) => (wake = resolve))
    }
    const sentAt = nowMicros()
    let ackedAt = 0
    if (args.acks) {
      await until(() => client.acks >= client.step2Sent + updates.length, args.timeoutMs, 'every update acknowledged', 1)
      ackedAt = nowMicros()
    }
    return { startedAt, sentAt, ackedAt, acks: client.acks }
  },

  'ingest.close': async () => {
    await Promise.all([reader?.close(), writer?.close()])
    reader = null
    writer = null
    return null
  },
}

export const ingestScenario: Scenario = {
  id: 'S7',
  title: 'S7 ingest',
  applies: () => true,
  async run(context) {
    const { profile, pool, spec, rep } = context
    const settings = profile.s7
    const tracePath = context.tracePath(settings.operations)
    const server = await context.start()
    const doc = `s7-${rep}`
    const readerWorker = pool.size - 1
    let dialect = spec.dialect
    const notes: string[] = []
    try {
      if (spec.family === 'tandem' && (await pool.call<boolean>(0, 'probe.multiplexed', { base: server.base, timeoutMs: 3_000 }))) dialect = 'multiplexed'
      const acks = dialect === 'multiplexed'
      notes.push(`dialect ${dialect}`, acks ? 'done = every update acknowledged (SyncStatus)' : 'done = a second client received the last operation')
      await pool.call(readerWorker, 'ingest.reader', { base: server.base, dialect, doc, operations: settings.operations, timeoutMs: 30_000 })
      const serverMeter = new PhaseMeter([server.pid])
      const clientMeter = new PhaseMeter(pool.pids)
      serverMeter.start()
      clientMeter.start()
      const [written, read] = await Promise.all([
        pool.call<{ startedAt: number; sentAt: number; ackedAt: number }>(0, 'ingest.write', {
          base: server.base,
          dialect,
          doc,
          tracePath,
          acks,
          highWaterBytes: settings.highWaterBytes,
          timeoutMs: settings.timeoutMs,
        }),
        pool.call<{ doneAt: number; frames: number; bytes: number }>(readerWorker, 'ingest.readerWait', { timeoutMs: settings.timeoutMs }),
      ])
      const serverUse = serverMeter.stop()
      const clientUse = clientMeter.stop()
      const verify = await pool.call<{ complete: boolean }>(readerWorker, 'bigdoc.fetch', {
        base: server.base,
        dialect,
        doc,
        tracePath,
        timeoutMs: 30_000,
        expectBytes: 0,
      })
      if (spec.stateful && !verify.complete) notes.push('the stored document differs from the trace')
      const perSec = (micros: number) => settings.operations / (micros / 1e6)
      const deliveredPerSec = perSec(read.doneAt - written.startedAt)
      const ackedPerSec = acks ? perSec(written.ackedAt - written.startedAt) : NaN
      const metrics: Record<string, number> = {
        operations: settings.operations,
        ingestPerSec: round(acks ? ackedPerSec : deliveredPerSec, 0),
        deliveredPerSec: round(deliveredPerSec, 0),
        pushPerSec: round(perSec(written.sentAt - written.startedAt), 0),
        readerFrames: read.frames,
        ...cpuMetrics('', serverUse, clientUse),
      }
      if (acks) metrics['ackedPerSec'] = round(ackedPerSec, 0)
      return [{ scenario: 'S7', variant: '', server: spec.id, rep, metrics, notes }]
    } catch (error) {
      return [{ scenario: 'S7', variant: '', server: spec.id, rep, metrics: {}, notes, error: errorMessage(error) }]
    } finally {
      await pool.all('ingest.close', () => ({}))
      await server.stop()
      server.removeData()
    }
  },
}
