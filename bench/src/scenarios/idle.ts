import { nowMicros } from '../markers.js'
import { PhaseMeter } from '../proc-stats.js'
import { cpuMetrics, errorMessage, round, type Scenario } from '../scenario.js'
import { range, spread } from '../worker-pool.js'

/** S5: server RSS per idle connection, with many connections spread over a few documents. */
export const idleHandlers = {}

export const idleScenario: Scenario = {
  id: 'S5',
  title: 'S5 idle connections',
  applies: () => true,
  async run(context) {
    const { profile, pool, spec, rep } = context
    const settings = profile.s5
    const server = await context.start()
    const documents = Math.ceil(settings.connections / settings.perDocument)
    const notes = [
      `dialect ${spec.dialect}`,
      `${settings.perDocument} connections per document on ${documents} documents`,
      `RSS sampled after ${settings.idleSeconds} s idle`,
    ]
    try {
      const before = server.sample()
      const serverMeter = new PhaseMeter([server.pid])
      const clientMeter = new PhaseMeter(pool.pids)
      const names = range(settings.connections).map((index) => `s5-${rep}-${index % documents}`)
      const perWorker = spread(names, pool.size)
      serverMeter.start()
      clientMeter.start()
      const startAt = nowMicros() + 100_000
      const opened = await pool.all<{ doneAt: number }>('fleet.open', (index) => ({
        base: server.base,
        dialect: spec.dialect,
        docs: perWorker[index],
        concurrency: settings.concurrency,
        timeoutMs: 120_000,
        startAt,
      }))
      const serverUse = serverMeter.stop()
      const clientUse = clientMeter.stop()
      const justAfter = server.sample()
      // Idle means idle for a while: a measured quiet phase, then the sample.
      await new Promise((resolve) => setTimeout(resolve, settings.idleSeconds * 1000))
      const after = server.sample()
      return [
        {
          scenario: 'S5',
          variant: '',
          server: spec.id,
          rep,
          metrics: {
            connections: settings.connections,
            rssPerConnKiB: round((after.rssBytes - before.rssBytes) / settings.connections / 1024, 2),
            baselineRssMiB: round(before.rssBytes / 1048576, 1),
            loadedRssMiB: round(after.rssBytes / 1048576, 1),
            rssPerConnRightAfterKiB: round((justAfter.rssBytes - before.rssBytes) / settings.connections / 1024, 2),
            connectSyncMs: round((Math.max(...opened.map((part) => part.doneAt)) - startAt) / 1000, 1),
            ...cpuMetrics('connect', serverUse, clientUse),
          },
          notes,
        },
      ]
    } catch (error) {
      return [{ scenario: 'S5', variant: '', server: spec.id, rep, metrics: {}, notes, error: errorMessage(error) }]
    } finally {
      await pool.all('fleet.close', () => ({}))
      await server.stop()
      server.removeData()
    }
  },
}
