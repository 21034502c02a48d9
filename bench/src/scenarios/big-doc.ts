import * as Y from 'yjs'
import { BenchClient, until } from '../client.js'
import { nowMicros } from '../markers.js'
import { cpuMetrics, errorMessage, round, type Scenario } from '../scenario.js'
import { PhaseMeter } from '../proc-stats.js'
import { median } from '../results.js'
import { readTraceFile, type Trace } from '../trace.js'
import type { Dialect } from '../wire.js'
import type { RunningServer } from '../server-process.js'

/**
 * S4 big document: the final state of the editing trace is stored on the server; a new client
 * connects and we time until its sync step 2 (the full state) has arrived: warm (document loaded,
 * a "keeper" client connected) and cold (server restarted, document only in storage).
 */

const traces = new Map<string, Trace>()
export const cachedTrace = (path: string): Trace => {
  let trace = traces.get(path)
  if (trace === undefined) traces.set(path, (trace = readTraceFile(path)))
  return trace
}

let keeper: BenchClient | null = null

interface FetchArgs {
  base: string
  dialect: Dialect
  doc: string
  tracePath: string
  timeoutMs: number
}

export const bigDocHandlers = {
  'bigdoc.seed': async (args: FetchArgs) => {
    const trace = cachedTrace(args.tracePath)
    const startedAt = nowMicros()
    keeper = await BenchClient.connect({ base: args.base, dialect: args.dialect, doc: args.doc }, args.timeoutMs)
    keeper.sendUpdate(trace.finalState)
    const state = await keeper.barrier(Math.floor(trace.finalState.length * 0.9), args.timeoutMs)
    return { ms: (nowMicros() - startedAt) / 1000, stateBytes: state.length }
  },

  /**
   * A new client until it holds the whole document: the sync step 2, plus any updates that follow
   * it (y-websocket's server answers before it has loaded from storage, then sends what it loads
   * as an update), until the received payloads add up to `expectBytes` (90% of it: encodings may
   * differ a little). Completeness is then checked for real, outside the timing.
   */
  'bigdoc.fetch': async (args: FetchArgs & { expectBytes: number }) => {
    const trace = cachedTrace(args.tracePath)
    const payloads: Uint8Array[] = []
    let received = 0
    let doneAt = 0
    let step2Bytes = -1
    const threshold = Math.floor(args.expectBytes * 0.9)
    const take = (payload: Uint8Array, at: number) => {
      payloads.push(payload)
      received += payload.length
      if (doneAt === 0 && step2Bytes >= 0 && received >= threshold) doneAt = at
    }
    const startedAt = nowMicros()
    const client = await BenchClient.connect(
      {
        base: args.base,
        dialect: args.dialect,
        doc: args.doc,
        handlers: {
          onStep2: (state, at) => {
            if (step2Bytes < 0) step2Bytes = state.length
            take(state, at)
          },
          onUpdate: take,
        },
      },
      args.timeoutMs,
    )
    await until(() => doneAt !== 0, args.timeoutMs, `the whole document (${threshold} bytes)`, 1).catch(() => undefined)
    const frameBytes = client.bytesIn
    await client.close()
    // Outside the timing: is it really the whole document?
    const doc = new Y.Doc()
    for (const payload of payloads) Y.applyUpdate(doc, payload)
    const complete = doc.getText('t').toString() === trace.finalText
    doc.destroy()
    return {
      ms: doneAt === 0 ? NaN : (doneAt - startedAt) / 1000,
      stateBytes: received,
      step2Bytes,
      frameBytes,
      complete,
    }
  },

  'bigdoc.release': async () => {
    await keeper?.close()
    keeper = null
    return null
  },
}

type Fetched = { ms: number; stateBytes: number; step2Bytes: number; frameBytes: number; complete: boolean }

export const bigDocScenario: Scenario = {
  id: 'S4',
  title: 'S4 big document',
  applies: (spec) => spec.stateful,
  async run(context) {
    const { profile, pool, spec, rep } = context
    const settings = profile.s4
    const tracePath = context.tracePath(settings.operations)
    const doc = `s4-${rep}`
    const reader = pool.size - 1
    const notes = [`dialect ${spec.dialect}`, `${settings.operations}-operation trace stored as one update`]
    let server: RunningServer = await context.start()
    try {
      const args = { base: server.base, dialect: spec.dialect, doc, tracePath, timeoutMs: 60_000 }
      const seeded = await pool.call<{ ms: number; stateBytes: number }>(0, 'bigdoc.seed', args)
      const fetchArgs = { ...args, expectBytes: seeded.stateBytes }
      const serverMeter = new PhaseMeter([server.pid])
      const clientMeter = new PhaseMeter(pool.pids)
      serverMeter.start()
      clientMeter.start()
      const warm: Fetched[] = []
      for (let i = 0; i < settings.warmFetches; i++) warm.push(await pool.call<Fetched>(reader, 'bigdoc.fetch', fetchArgs))
      const serverUse = serverMeter.stop()
      const clientUse = clientMeter.stop()
      if (warm.some((fetch) => !fetch.complete)) notes.push('a warm sync did not carry the whole document')
      await pool.call(0, 'bigdoc.release', {})
      const metrics: Record<string, number> = {
        operations: settings.operations,
        seedMs: round(seeded.ms, 1),
        warmSyncMs: round(median(warm.map((fetch) => fetch.ms)), 2),
        warmSyncMinMs: round(Math.min(...warm.map((fetch) => fetch.ms)), 2),
        stateBytes: warm[0]!.stateBytes,
        frameBytes: warm[0]!.frameBytes,
        ...cpuMetrics('warm', serverUse, clientUse),
      }
      if (spec.persistent) {
        const code = await server.stop()
        if (code !== 0) notes.push(`graceful stop exited with ${code}`)
        server = await context.start({ reuseData: true })
        // Warm the new process up on a small document first (module loading, JIT), so "cold"
        // measures the document coming from storage, not the process starting.
        await pool.call<Fetched>(reader, 'bigdoc.fetch', { ...fetchArgs, base: server.base, doc: `${doc}-warmup`, expectBytes: 0 })
        const cold = await pool.call<Fetched>(reader, 'bigdoc.fetch', { ...fetchArgs, base: server.base })
        metrics['coldSyncMs'] = round(cold.ms, 2)
        metrics['coldStateBytes'] = cold.stateBytes
        if (cold.step2Bytes < seeded.stateBytes * 0.9) notes.push('cold: the sync step 2 came before the stored state, which followed as an update')
        if (!cold.complete) notes.push('the cold sync did not carry the whole document (lost on restart?)')
      }
      return [{ scenario: 'S4', variant: '', server: spec.id, rep, metrics, notes }]
    } catch (error) {
      return [{ scenario: 'S4', variant: '', server: spec.id, rep, metrics: {}, notes, error: errorMessage(error) }]
    } finally {
      await pool.call(0, 'bigdoc.release', {}).catch(() => undefined)
      await server.stop()
      server.removeData()
    }
  },
}
