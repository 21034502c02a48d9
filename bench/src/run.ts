import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, totalmem, tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { profiles, repsOf, repsText, TRACE_SEED, type Profile } from './profiles.js'
import { errorMessage, type RunResult, type Scenario, type ScenarioContext, type ScenarioId } from './scenario.js'
import { BENCH_DIR, REPO_DIR, RunningServer, serverSpecs, type ServerSpec } from './server-process.js'
import { allowedCpus, launcherPids, moveToCpus } from './proc-stats.js'
import { loadTrace } from './trace.js'
import { WorkerPool } from './worker-pool.js'
import { fanoutScenario } from './scenarios/fanout.js'
import { throughputScenario } from './scenarios/throughput.js'
import { manyDocsScenario } from './scenarios/many-docs.js'
import { bigDocScenario } from './scenarios/big-doc.js'
import { idleScenario } from './scenarios/idle.js'
import { ingestScenario } from './scenarios/ingest.js'
import { presenceScenario } from './scenarios/presence.js'
import { summarize, type BenchResults, type Machine } from './results.js'
import { writeReport } from '../report.js'

/**
 * The runner: starts each server as its own process on 127.0.0.1, one at a time, drives the
 * scenarios from worker processes, and writes the results (and, for the full profile,
 * BENCHMARKS.md). Repetitions are the outer loop, so slow drift of the machine spreads over every
 * server alike.
 *
 *   tsx src/run.ts --profile full|smoke [--servers a,b] [--scenarios S1,S2] [--reps n]
 *                  [--out file.json] [--report | --no-report] [--cpu-prof dir] [--no-pin] [--float-helpers]
 */

const SCENARIOS: readonly Scenario[] = [
  fanoutScenario,
  throughputScenario,
  manyDocsScenario,
  bigDocScenario,
  idleScenario,
  ingestScenario,
  presenceScenario,
]

const { values } = parseArgs({
  options: {
    profile: { type: 'string', default: 'full' },
    servers: { type: 'string' },
    scenarios: { type: 'string' },
    reps: { type: 'string' },
    out: { type: 'string' },
    report: { type: 'boolean' },
    'no-report': { type: 'boolean' },
    'cpu-prof': { type: 'string' },
    'no-pin': { type: 'boolean' },
    // Diagnostic: only the server's main thread stays on CPU 0; its helper threads may use every CPU.
    'float-helpers': { type: 'boolean' },
    quiet: { type: 'boolean' },
  },
})

const baseProfile = profiles[values.profile]
if (baseProfile === undefined) throw new Error(`unknown profile ${values.profile}; one of ${Object.keys(profiles).join(', ')}`)
const profile: Profile =
  values.reps === undefined ? baseProfile : { ...baseProfile, reps: Number(values.reps), repsFor: {} }
const onlyServers = values.servers?.split(',').map((id) => id.trim())
const onlyScenarios = values.scenarios?.split(',').map((id) => id.trim().toUpperCase())
const outFile = resolve(values.out ?? join(BENCH_DIR, 'results', `${profile.name}.json`))
const writeMarkdown = values['no-report'] === true ? false : (values.report ?? profile.name === 'full')
const cpuProfDir = values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof'])
const log = (message: string) => {
  if (values.quiet !== true) process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`)
}

const specs = serverSpecs()
for (const id of onlyServers ?? []) if (!specs.has(id)) throw new Error(`unknown server ${id}; one of ${[...specs.keys()].join(', ')}`)

const machine = (): Machine => {
  const cpuInfo = readFileSync('/proc/cpuinfo', 'utf8')
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuInfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown'
  return {
    nproc: cpus().length,
    cpuModel: model,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
  }
}

const main = async (): Promise<void> => {
  const started = new Date()
  const info = machine()
  // Pinning: the server under test gets CPU 0, the runner and its client workers the others.
  const pin = values['no-pin'] !== true && info.nproc >= 2
  const clientCpus = info.nproc === 2 ? '1' : `1-${info.nproc - 1}`
  // The runner and the processes that launched it: left where they were, their garbage collectors
  // ran on the server's CPU (seen with perf during S1).
  const launchers = pin ? launcherPids() : []
  if (pin) {
    if (!moveToCpus(process.pid, clientCpus, 'process')) throw new Error(`taskset cannot move the runner to CPU ${clientCpus}`)
    // One that cannot be moved stays where it is.
    for (const pid of launchers) moveToCpus(pid, clientCpus, 'process')
  }
  // Counted as moved when the kernel says so.
  const launchersMoved = launchers.filter((pid) => allowedCpus(pid) === clientCpus).length
  const helperCpus = pin && values['float-helpers'] === true ? `0-${info.nproc - 1}` : undefined
  const logDir = mkdtempSync(join(tmpdir(), 'tandem-bench-logs-'))
  log(`profile ${profile.name}, ${repsText(profile)}; server logs in ${logDir}${pin ? `; server on CPU 0${helperCpus === undefined ? '' : ` (its helper threads on CPUs ${helperCpus})`}, clients on CPU ${clientCpus}` : ''}`)

  const wanted = (scenario: Scenario): ServerSpec[] => {
    if (onlyScenarios !== undefined && !onlyScenarios.includes(scenario.id)) return []
    // --servers replaces the profile's lists: exactly those servers, wherever a scenario applies.
    const ids = onlyServers ?? profile.servers[scenario.id as Exclude<ScenarioId, 'S6'>] ?? []
    return ids
      .map((id) => specs.get(id)!)
      .filter((spec) => scenario.applies(spec, profile))
  }
  const plan = SCENARIOS.map((scenario) => ({ scenario, servers: wanted(scenario) })).filter((entry) => entry.servers.length > 0)
  const tandemWanted = plan.some((entry) => entry.servers.some((spec) => spec.family === 'tandem'))
  if (tandemWanted && !existsSync(join(REPO_DIR, 'server', 'dist', 'cli.js'))) {
    throw new Error('Tandem is not built: run `pnpm run build` (or `npx tsc -b test`) at the repository root first')
  }

  // The editing traces, generated once and cached for the workers.
  const tracePaths = new Map<number, string>()
  for (const operations of new Set([profile.s4.operations, profile.s7.operations])) {
    const t0 = performance.now()
    tracePaths.set(operations, loadTrace(operations, TRACE_SEED).path)
    log(`trace of ${operations} operations ready (${Math.round(performance.now() - t0)} ms)`)
  }

  const pool = await WorkerPool.start(profile.workers)
  const runs: RunResult[] = []
  const usedServers = new Set<string>()
  const save = (finished: boolean): BenchResults => {
    const results: BenchResults = {
      schema: 1,
      profile: profile.name,
      command: commandLine(),
      startedAt: started.toISOString(),
      finishedAt: finished ? new Date().toISOString() : null,
      machine: info,
      pinning: pin ? { server: '0', clients: clientCpus, launchers: launchersMoved, ...(helperCpus === undefined ? {} : { serverHelpers: helperCpus }) } : null,
      settings: profile,
      servers: [...usedServers].map((id) => {
        const spec = specs.get(id)!
        return { id, label: spec.label, version: spec.version, family: spec.family, dialect: spec.dialect, storage: spec.storage }
      }),
      runs,
      summary: summarize(runs, profile),
    }
    mkdirSync(resolve(outFile, '..'), { recursive: true })
    writeFileSync(outFile, `${JSON.stringify(results, null, 1)}\n`)
    return results
  }

  try {
    const mostReps = Math.max(...plan.map(({ scenario }) => repsOf(profile, scenario.id)))
    for (let rep = 0; rep < mostReps; rep++) {
      for (const { scenario, servers } of plan) {
        if (rep >= repsOf(profile, scenario.id)) continue
        for (const spec of servers) {
          usedServers.add(spec.id)
          const t0 = performance.now()
          let lastDataDir: string | undefined
          const started: RunningServer[] = []
          const context: ScenarioContext = {
            profile,
            pool,
            spec,
            rep,
            tracePath: (operations) => {
              const path = tracePaths.get(operations)
              if (path === undefined) throw new Error(`no trace of ${operations} operations`)
              return path
            },
            start: async (options = {}) => {
              const server = await RunningServer.start(spec, {
                ...(options.reuseData === true && lastDataDir !== undefined ? { dataDir: lastDataDir } : {}),
                ...(pin ? { cpuSet: '0' } : {}),
                ...(helperCpus === undefined ? {} : { helperCpuSet: helperCpus }),
                logDir,
                launch: spec.family === 'tandem' && cpuProfDir !== undefined ? { cpuProfDir } : {},
              })
              lastDataDir = server.dataDir
              started.push(server)
              return server
            },
            log,
          }
          let results: RunResult[]
          try {
            results = await scenario.run(context)
          } catch (error) {
            results = [{ scenario: scenario.id, variant: '', server: spec.id, rep, metrics: {}, notes: [], error: errorMessage(error) }]
          }
          for (const server of started) {
            await server.stop()
            const problems = serverLogProblems(server.logFile)
            if (problems !== null) for (const result of results) result.notes.push(`server log: ${problems}`)
          }
          runs.push(...results)
          for (const result of results) log(`${scenario.id} ${result.variant} ${spec.id} rep ${rep + 1}: ${headline(result)}`)
          log(`  (${Math.round(performance.now() - t0)} ms)`)
          save(false)
        }
      }
    }
  } finally {
    await pool.stop()
  }
  const results = save(true)
  log(`results: ${relative(process.cwd(), outFile)}`)
  if (writeMarkdown) {
    const written = writeReport(results)
    log(`report: ${written.join(', ')}`)
  }
}

const commandLine = (): string => {
  const script = process.env['npm_lifecycle_event']
  const args = process.argv.slice(2).join(' ')
  return script === 'bench' ? 'pnpm bench' : `tsx src/run.ts ${args}`.trim()
}

const headline = (result: RunResult): string => {
  if (result.error !== undefined) return `ERROR ${result.error}`
  const keys = ['p99Ms', 'updatesPerSec', 'rssPerDocKiB', 'warmSyncMs', 'coldSyncMs', 'rssPerConnKiB', 'ingestPerSec', 'allAwareMs', 'serverCpuPct']
  return keys
    .filter((key) => key in result.metrics)
    .map((key) => `${key}=${result.metrics[key]}`)
    .join(' ')
}

/** Error-level lines in a server's log (pino level ≥ 50, or a stack trace), summarized. */
const serverLogProblems = (file: string): string | null => {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return null
  }
  const lines = text.split('\n').filter((line) => /"level":(5\d|60)/.test(line) || /^\w*Error\b/.test(line) || /Unhandled|uncaught/i.test(line))
  if (lines.length === 0) return null
  return `${lines.length} error line(s), first: ${lines[0]!.slice(0, 200)}`
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
