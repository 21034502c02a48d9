import { BenchClient, mapLimit } from '../client.js'
import { nowMicros } from '../markers.js'
import { PhaseMeter } from '../proc-stats.js'
import { cpuMetrics, errorMessage, round, type Scenario } from '../scenario.js'
import { TextAppender } from '../text-update.js'
import type { Dialect } from '../wire.js'
import { range, spread } from '../worker-pool.js'

/**
 * A fleet of mostly idle clients, each on a document of its own or sharing one: S3 (many
 * documents with a little text each) and S5 (idle connections) are built on it.
 */

let fleet: BenchClient[] = []

export const manyDocsHandlers = {
  /** Opens one connection per entry of `docs` and waits for every one to sync. */
  'fleet.open': async (args: { base: string; dialect: Dialect; docs: string[]; concurrency: number; timeoutMs: number; startAt: number }) => {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, (args.startAt - nowMicros()) / 1000)))
    const startedAt = nowMicros()
    const opened = await mapLimit(args.docs, args.concurrency, (doc) => BenchClient.connect({ base: args.base, dialect: args.dialect, doc }, args.timeoutMs))
    fleet.push(...opened)
    return { startedAt, doneAt: nowMicros(), opened: opened.length }
  },

  /** Every client appends `chunks` edits of `chunkLength` characters, then waits until its server has applied them. */
  'fleet.seed': async (args: { chunks: number; chunkLength: number; expectState: boolean; concurrency: number; timeoutMs: number }) => {
    const startedAt = nowMicros()
    const filler = 'lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(Math.ceil(args.chunkLength / 56) + 1)
    await mapLimit(fleet, args.concurrency, async (client) => {
      const appender = new TextAppender(1 + Math.floor(Math.random() * 0x7fff_fff0))
      for (let chunk = 0; chunk < args.chunks; chunk++) client.sendUpdate(appender.append(filler.slice(chunk % 7, (chunk % 7) + args.chunkLength)))
      await client.barrier(args.expectState ? args.chunks * args.chunkLength : 0, args.timeoutMs)
    })
    return { startedAt, doneAt: nowMicros() }
  },

  'fleet.close': async () => {
    const closing = fleet
    fleet = []
    await Promise.all(closing.map((client) => client.close()))
    return null
  },
}

/** S3: many documents with about 2 KB of text each, one client per document. */
export const manyDocsScenario: Scenario = {
  id: 'S3',
  title: 'S3 many documents',
  applies: () => true,
  async run(context) {
    const { profile, pool, spec, rep } = context
    const settings = profile.s3
    const server = await context.start()
    const notes = [
      `dialect ${spec.dialect}`,
      `${settings.chunks} edits of ${settings.chunkLength} characters per document`,
      `RSS sampled after ${settings.idleSeconds} s idle`,
    ]
    try {
      const before = server.sample()
      const serverMeter = new PhaseMeter([server.pid])
      const clientMeter = new PhaseMeter(pool.pids)
      const docs = spread(range(settings.documents).map((index) => `s3-${rep}-${index}`), pool.size)
      serverMeter.start()
      clientMeter.start()
      const startAt = nowMicros() + 100_000
      const opened = await pool.all<{ startedAt: number; doneAt: number }>('fleet.open', (index) => ({
        base: server.base,
        dialect: spec.dialect,
        docs: docs[index],
        concurrency: settings.concurrency,
        timeoutMs: 60_000,
        startAt,
      }))
      const connectServer = serverMeter.stop()
      const connectClient = clientMeter.stop()
      serverMeter.start()
      clientMeter.start()
      const seeded = await pool.all<{ startedAt: number; doneAt: number }>('fleet.seed', () => ({
        chunks: settings.chunks,
        chunkLength: settings.chunkLength,
        expectState: spec.stateful,
        concurrency: settings.concurrency,
        timeoutMs: 60_000,
      }))
      const seedServer = serverMeter.stop()
      const seedClient = clientMeter.stop()
      const justAfter = server.sample()
      // Idle means idle for a while: a measured quiet phase, then the sample.
      await new Promise((resolve) => setTimeout(resolve, settings.idleSeconds * 1000))
      const after = server.sample()
      const connectMs = (Math.max(...opened.map((part) => part.doneAt)) - startAt) / 1000
      const seedMs = (Math.max(...seeded.map((part) => part.doneAt)) - Math.min(...seeded.map((part) => part.startedAt))) / 1000
      return [
        {
          scenario: 'S3',
          variant: '',
          server: spec.id,
          rep,
          metrics: {
            documents: settings.documents,
            rssPerDocKiB: round((after.rssBytes - before.rssBytes) / settings.documents / 1024, 1),
            baselineRssMiB: round(before.rssBytes / 1048576, 1),
            loadedRssMiB: round(after.rssBytes / 1048576, 1),
            rssPerDocRightAfterKiB: round((justAfter.rssBytes - before.rssBytes) / settings.documents / 1024, 1),
            connectSyncMs: round(connectMs, 1),
            seedMs: round(seedMs, 1),
            ...cpuMetrics('connect', connectServer, connectClient),
            ...cpuMetrics('seed', seedServer, seedClient),
          },
          notes,
        },
      ]
    } catch (error) {
      return [{ scenario: 'S3', variant: '', server: spec.id, rep, metrics: {}, notes, error: errorMessage(error) }]
    } finally {
      await pool.all('fleet.close', () => ({}))
      await server.stop()
      server.removeData()
    }
  },
}
