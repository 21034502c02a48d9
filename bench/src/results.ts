import type { Profile } from './profiles.js'
import type { RunResult, ScenarioId } from './scenario.js'

export interface Machine {
  readonly nproc: number
  readonly cpuModel: string
  readonly memoryGiB: number
  readonly node: string
  readonly kernel: string
}

export interface ServerInfo {
  readonly id: string
  readonly label: string
  readonly version: string
  readonly family: string
  readonly dialect: string
  readonly storage: string
}

/** Medians over the repetitions of one scenario variant on one server. */
export interface SummaryRow {
  readonly scenario: ScenarioId
  readonly variant: string
  readonly server: string
  readonly reps: number
  readonly metrics: Record<string, number>
  readonly notes: string[]
  readonly errors: string[]
}

export interface BenchResults {
  readonly schema: 1
  readonly profile: string
  readonly command: string
  readonly startedAt: string
  readonly finishedAt: string | null
  readonly machine: Machine
  /**
   * `launchers`: how many processes that launched the runner were moved to the clients' CPUs with it;
   * `serverHelpers`: the CPUs of the server's threads other than its main thread, when not the server's (`--float-helpers`).
   */
  readonly pinning: { readonly server: string; readonly clients: string; readonly launchers?: number; readonly serverHelpers?: string } | null
  readonly settings: Profile
  readonly servers: ServerInfo[]
  readonly runs: RunResult[]
  readonly summary: SummaryRow[]
}

export const median = (values: readonly number[]): number => {
  const finite = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b)
  if (finite.length === 0) return NaN
  const middle = Math.floor(finite.length / 2)
  return finite.length % 2 === 1 ? finite[middle]! : (finite[middle - 1]! + finite[middle]!) / 2
}

/** Medians per scenario, variant and server; S6 is derived from the S2 runs of each durability pair. */
export const summarize = (runs: readonly RunResult[], profile: Profile): SummaryRow[] => {
  const groups = new Map<string, RunResult[]>()
  for (const run of runs) {
    const key = `${run.scenario}\u0000${run.variant}\u0000${run.server}`
    let group = groups.get(key)
    if (group === undefined) groups.set(key, (group = []))
    group.push(run)
  }
  const rows: SummaryRow[] = []
  for (const group of groups.values()) {
    const first = group[0]!
    const ok = group.filter((run) => run.error === undefined)
    const keys = new Set(ok.flatMap((run) => Object.keys(run.metrics)))
    const metrics: Record<string, number> = {}
    for (const key of keys) metrics[key] = median(ok.map((run) => run.metrics[key] ?? NaN))
    rows.push({
      scenario: first.scenario,
      variant: first.variant,
      server: first.server,
      reps: ok.length,
      metrics,
      notes: [...new Set(group.flatMap((run) => run.notes))],
      errors: group.flatMap((run) => (run.error === undefined ? [] : [`rep ${run.rep + 1}: ${run.error}`])),
    })
  }
  for (const [on, off] of profile.durabilityPairs) {
    const onRow = rows.find((row) => row.scenario === 'S2' && row.server === on)
    const offRow = rows.find((row) => row.scenario === 'S2' && row.server === off)
    if (onRow === undefined || offRow === undefined) continue
    const onRate = onRow.metrics['updatesPerSec'] ?? NaN
    const offRate = offRow.metrics['updatesPerSec'] ?? NaN
    rows.push({
      scenario: 'S6',
      variant: `off = ${off}`,
      server: on,
      reps: Math.min(onRow.reps, offRow.reps),
      metrics: {
        storageOnUpdatesPerSec: onRate,
        storageOffUpdatesPerSec: offRate,
        throughputCostPct: Math.round((1 - onRate / offRate) * 1000) / 10,
        storageOnP99Ms: onRow.metrics['p99Ms'] ?? NaN,
        storageOffP99Ms: offRow.metrics['p99Ms'] ?? NaN,
        storageOnServerCpuPct: onRow.metrics['serverCpuPct'] ?? NaN,
      },
      notes: [],
      errors: [...onRow.errors, ...offRow.errors],
    })
  }
  return rows
}
