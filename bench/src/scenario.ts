import type { WorkerPool } from './worker-pool.js'
import type { RunningServer, ServerSpec } from './server-process.js'
import type { Profile } from './profiles.js'
import type { PhaseUse } from './proc-stats.js'

/** One measured result: a scenario variant on one server in one repetition. */
export interface RunResult {
  readonly scenario: ScenarioId
  /** e.g. `clients=200`; `''` when the scenario has one variant. */
  readonly variant: string
  readonly server: string
  readonly rep: number
  /** Numbers only; names carry their unit (`p99Ms`, `updatesPerSec`, `rssPerDocKiB`, ...). */
  readonly metrics: Record<string, number>
  /** Facts that are not numbers: the dialect used, what "done" meant, warnings. */
  readonly notes: string[]
  readonly error?: string
}

export type ScenarioId = 'S1' | 'S2' | 'S3' | 'S4' | 'S5' | 'S6' | 'S7' | 'S8'

/** What a scenario gets to do its work. */
export interface ScenarioContext {
  readonly profile: Profile
  readonly pool: WorkerPool
  readonly spec: ServerSpec
  readonly rep: number
  /** The cached editing trace of this many operations (a file the workers read). */
  tracePath(operations: number): string
  /** Starts the server under test (fresh data directory unless `reuseData`). */
  start(options?: { reuseData?: boolean }): Promise<RunningServer>
  log(message: string): void
}

export interface Scenario {
  readonly id: ScenarioId
  readonly title: string
  /** Whether this scenario applies to a server (e.g. S4 needs a server that keeps state). */
  applies(spec: ServerSpec, profile: Profile): boolean
  run(context: ScenarioContext): Promise<RunResult[]>
}

/**
 * CPU and memory fields every scenario reports the same way (`serverCpuPct`, or `seedServerCpuPct`
 * with a prefix; `serverHelperCpuPct` is the part of it outside the server's main thread).
 * `foreignCpuPct` is what the rest of the machine (other processes, not the server, the runner or
 * its workers) used meanwhile: a noisy neighbour shows up there.
 */
export const cpuMetrics = (prefix: string, server: PhaseUse, client: PhaseUse): Record<string, number> => {
  const key = (name: string) => (prefix === '' ? name : prefix + name[0]!.toUpperCase() + name.slice(1))
  const wall = Math.max(server.wallSeconds, client.wallSeconds)
  const foreign = wall > 0 ? Math.max(0, client.machineBusySeconds - server.cpuSeconds - client.cpuSeconds) / wall : NaN
  return {
    [key('serverCpuPct')]: round(server.cpuShare * 100, 1),
    [key('serverHelperCpuPct')]: round(server.helperCpuShare * 100, 1),
    [key('serverRssMiB')]: round(server.rssBytes / 1048576, 1),
    [key('serverPeakRssMiB')]: round(server.peakRssBytes / 1048576, 1),
    [key('clientCpuPct')]: round(client.cpuShare * 100, 1),
    [key('foreignCpuPct')]: round(foreign * 100, 1),
  }
}

export const round = (value: number, digits = 2): number => {
  if (!Number.isFinite(value)) return value
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}

export const errorMessage = (error: unknown): string => (error instanceof Error ? error.message.split('\n')[0]! : String(error))
