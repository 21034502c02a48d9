import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { median, type BenchResults, type SummaryRow } from './src/results.js'
import { repsOf, repsText } from './src/profiles.js'
import { formatNumber, renderChart, type Bar } from './src/svg-chart.js'

/**
 * Regenerates BENCHMARKS.md (at the repository root) and its charts from a results file.
 *
 *   tsx report.ts [bench/results/full.json]
 *
 * Hand-written analysis (profiles, causes) lives in bench/analysis.md and is included verbatim.
 */

const BENCH_DIR = dirname(fileURLToPath(import.meta.url))
const REPO_DIR = dirname(BENCH_DIR)

const COLORS: Record<string, string> = {
  tandem: '#1d4ed8',
  'tandem-normal': '#3b82f6',
  'tandem-memory': '#93c5fd',
  'tandem-mux': '#1e3a8a',
  'tandem-mux-memory': '#bfdbfe',
  'y-websocket': '#d97706',
  'y-websocket-leveldb': '#fbbf24',
  hocuspocus: '#047857',
  'hocuspocus-memory': '#6ee7b7',
  'raw-relay': '#6b7280',
}
const PEERS = ['y-websocket', 'y-websocket-leveldb', 'hocuspocus', 'hocuspocus-memory']

interface Column {
  readonly key: string
  readonly label: string
}

interface TableSpec {
  readonly scenario: SummaryRow['scenario']
  readonly title: string
  readonly what: string
  readonly columns: readonly Column[]
  /** The metric the Tandem/peer ratio is taken on, and whether more is better. */
  readonly headline?: { readonly key: string; readonly higherIsBetter: boolean }
}

const TABLES: readonly TableSpec[] = [
  {
    scenario: 'S1',
    title: 'S1 fan-out latency',
    what: 'One document; one writer at {rate} edits/s, the other clients read; {seconds} s measured after {warmupSeconds} s of warm-up per phase; delivery latency = receive time minus the send time embedded in the edit (same monotonic clock). "first" and "last" are per edit: its earliest delivery (the server\'s lead before its first write, plus one trip) and its latest (plus the fan-out and the readers\' queue).',
    columns: [
      { key: 'p50Ms', label: 'p50 ms' },
      { key: 'p99Ms', label: 'p99 ms' },
      { key: 'maxMs', label: 'max ms' },
      { key: 'firstP50Ms', label: 'first p50 ms' },
      { key: 'firstP99Ms', label: 'first p99 ms' },
      { key: 'lastP50Ms', label: 'last p50 ms' },
      { key: 'deliveredShare', label: 'delivered' },
      { key: 'serverCpuPct', label: 'server CPU %' },
      { key: 'serverHelperCpuPct', label: 'of which helper threads %' },
      { key: 'serverPeakRssMiB', label: 'server peak RSS MiB' },
      { key: 'clientCpuPct', label: 'client CPU %' },
      { key: 'foreignCpuPct', label: 'other CPU %' },
    ],
    headline: { key: 'p99Ms', higherIsBetter: false },
  },
  {
    scenario: 'S2',
    title: 'S2 throughput',
    what: 'One document; {writers} writers as fast as delivery allows (at most {window} unseen edits each), {readers} readers; updates/s = edits received per second summed over the readers.',
    columns: [
      { key: 'updatesPerSec', label: 'delivered updates/s' },
      { key: 'editsSentPerSec', label: 'edits sent/s' },
      { key: 'p50Ms', label: 'p50 ms' },
      { key: 'p99Ms', label: 'p99 ms' },
      { key: 'maxMs', label: 'max ms' },
      { key: 'serverCpuPct', label: 'server CPU %' },
      { key: 'serverHelperCpuPct', label: 'of which helper threads %' },
      { key: 'serverPeakRssMiB', label: 'server peak RSS MiB' },
      { key: 'clientCpuPct', label: 'client CPU %' },
      { key: 'foreignCpuPct', label: 'other CPU %' },
    ],
    headline: { key: 'updatesPerSec', higherIsBetter: true },
  },
  {
    scenario: 'S3',
    title: 'S3 many documents',
    what: '{documents} documents, one client each; each client writes {chunks} edits of {chunkLength} characters (≈2 KB), then waits until its server has applied them. RSS per document = (RSS after − RSS at start) / documents.',
    columns: [
      { key: 'rssPerDocKiB', label: 'RSS/doc KiB' },
      { key: 'rssPerDocRightAfterKiB', label: 'RSS/doc right after KiB' },
      { key: 'connectSyncMs', label: 'connect+sync all ms' },
      { key: 'seedMs', label: 'write 2 KB each ms' },
      { key: 'connectServerCpuPct', label: 'server CPU % (connect)' },
      { key: 'seedServerCpuPct', label: 'server CPU % (write)' },
      { key: 'loadedRssMiB', label: 'server RSS MiB' },
      { key: 'connectForeignCpuPct', label: 'other CPU % (connect)' },
    ],
    headline: { key: 'rssPerDocKiB', higherIsBetter: false },
  },
  {
    scenario: 'S4',
    title: 'S4 big document',
    what: 'The {operations}-operation trace (inserts and deletes) stored as one update; a new client connects and we time until its sync step 2 arrives. Warm: median of {warmFetches}, document loaded. Cold: after a graceful restart, document only in storage.',
    columns: [
      { key: 'warmSyncMs', label: 'warm sync ms' },
      { key: 'coldSyncMs', label: 'cold sync ms' },
      { key: 'stateBytes', label: 'state bytes' },
      { key: 'frameBytes', label: 'bytes received' },
      { key: 'seedMs', label: 'store ms' },
      { key: 'warmServerCpuPct', label: 'server CPU % (warm)' },
      { key: 'warmServerRssMiB', label: 'server RSS MiB' },
    ],
    headline: { key: 'warmSyncMs', higherIsBetter: false },
  },
  {
    scenario: 'S5',
    title: 'S5 idle connections',
    what: '{connections} connections ({perDocument} per document), synced and then idle; RSS per connection = (RSS after − RSS at start) / connections.',
    columns: [
      { key: 'rssPerConnKiB', label: 'RSS/conn KiB' },
      { key: 'rssPerConnRightAfterKiB', label: 'RSS/conn right after KiB' },
      { key: 'connectSyncMs', label: 'connect+sync all ms' },
      { key: 'connectServerCpuPct', label: 'server CPU % (connect)' },
      { key: 'loadedRssMiB', label: 'server RSS MiB' },
      { key: 'connectForeignCpuPct', label: 'other CPU % (connect)' },
    ],
    headline: { key: 'rssPerConnKiB', higherIsBetter: false },
  },
  {
    scenario: 'S6',
    title: 'S6 cost of durability',
    what: 'S2 on each server with its storage on and off. Cost = 1 − on/off.',
    columns: [
      { key: 'storageOnUpdatesPerSec', label: 'storage on updates/s' },
      { key: 'storageOffUpdatesPerSec', label: 'storage off updates/s' },
      { key: 'throughputCostPct', label: 'throughput cost %' },
      { key: 'storageOnP99Ms', label: 'p99 ms on' },
      { key: 'storageOffP99Ms', label: 'p99 ms off' },
    ],
  },
  {
    scenario: 'S7',
    title: 'S7 ingest',
    what: 'One client pushes the {operations}-operation trace as single updates (one message each, in order, with socket backpressure) into an empty document. Rate = operations / time until the server has them all: acknowledged where the server acknowledges (multiplexed SyncStatus), else until a second client received the last operation.',
    columns: [
      { key: 'ingestPerSec', label: 'ingest updates/s' },
      { key: 'ackedPerSec', label: 'acked/s' },
      { key: 'deliveredPerSec', label: 'delivered to reader/s' },
      { key: 'pushPerSec', label: 'client push/s' },
      { key: 'readerFrames', label: 'frames to reader' },
      { key: 'serverCpuPct', label: 'server CPU %' },
      { key: 'clientCpuPct', label: 'client CPU %' },
      { key: 'foreignCpuPct', label: 'other CPU %' },
    ],
    headline: { key: 'ingestPerSec', higherIsBetter: true },
  },
  {
    scenario: 'S8',
    title: 'S8 presence storm',
    what: 'N clients join one document at once (at most {concurrency} handshakes in flight per worker), each sending an awareness state on open; time until every client has seen every other one.',
    columns: [
      { key: 'allAwareMs', label: 'all aware ms' },
      { key: 'connectMs', label: 'all connected ms' },
      { key: 'pairsSeenShare', label: 'pairs seen' },
      { key: 'serverCpuSeconds', label: 'server CPU s' },
      { key: 'serverPeakRssMiB', label: 'server peak RSS MiB' },
      { key: 'clientCpuPct', label: 'client CPU %' },
      { key: 'foreignCpuPct', label: 'other CPU %' },
    ],
    headline: { key: 'allAwareMs', higherIsBetter: false },
  },
]

const cell = (value: number | undefined): string => (value === undefined || !Number.isFinite(value) ? '–' : formatNumber(value))

const fill = (template: string, values: Record<string, unknown>): string =>
  template.replace(/\{(\w+)\}/g, (_, key: string) => (values[key] === undefined ? `{${key}}` : String(values[key])))

const rowsOf = (results: BenchResults, scenario: string): SummaryRow[] => results.summary.filter((row) => row.scenario === scenario)

const metric = (results: BenchResults, scenario: string, server: string, key: string, variant?: string): number => {
  const row = results.summary.find((entry) => entry.scenario === scenario && entry.server === server && (variant === undefined || entry.variant === variant))
  return row?.metrics[key] ?? NaN
}

/** CPUs the load generator may use: those it is pinned to, else every CPU. */
const clientCpus = (results: BenchResults): number => {
  if (results.pinning === null) return results.machine.nproc
  return results.pinning.clients.split(',').reduce((sum, part) => {
    const [from, to] = part.split('-').map(Number)
    return sum + (to === undefined ? 1 : to! - from! + 1)
  }, 0)
}

/**
 * When the load generator used 90% or more of its CPUs during a measurement, the server may have
 * had more to give: say so next to the figure (it is then a lower bound for throughput, an upper
 * one for times).
 */
const clientBound = (results: BenchResults, scenario: string, server: string, variant?: string): string => {
  const used = metric(results, scenario, server, 'clientCpuPct', variant)
  const capacity = clientCpus(results) * 100
  return used >= 0.9 * capacity ? ` (load generator at ${Math.round(used)}% of its ${capacity}%: bound by the client, not the server)` : ''
}

const serverLabel = (results: BenchResults, id: string): string => results.servers.find((server) => server.id === id)?.label ?? id

interface TargetCheck {
  readonly target: string
  readonly measured: string
  readonly met: boolean | null
}

const ratioText = (value: number): string => (Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a')

const checkTargets = (results: BenchResults): TargetCheck[] => {
  const checks: TargetCheck[] = []
  const bestPeer = (scenario: string, key: string, higherIsBetter: boolean, variant?: string, peers = PEERS) => {
    const candidates = peers
      .map((id) => ({ id, value: metric(results, scenario, id, key, variant) }))
      .filter((entry) => Number.isFinite(entry.value))
    if (candidates.length === 0) return null
    return candidates.reduce((best, entry) => ((higherIsBetter ? entry.value > best.value : entry.value < best.value) ? entry : best))
  }
  {
    const t = metric(results, 'S2', 'tandem', 'updatesPerSec')
    const h = metric(results, 'S2', 'hocuspocus', 'updatesPerSec')
    const y = metric(results, 'S2', 'y-websocket', 'updatesPerSec')
    const r = metric(results, 'S2', 'raw-relay', 'updatesPerSec')
    const met = [t >= 2 * h, t >= 2 * y, t >= 0.7 * r]
    checks.push({
      target: 'S2 throughput ≥ 2× Hocuspocus, ≥ 2× y-websocket, ≥ 0.7× raw relay',
      measured: `Tandem ${cell(t)}/s = ${ratioText(t / h)} Hocuspocus, ${ratioText(t / y)} y-websocket, ${ratioText(t / r)} relay${clientBound(results, 'S2', 'tandem')}`,
      met: [t, h, y, r].every(Number.isFinite) ? met.every(Boolean) : null,
    })
  }
  {
    const variant = `clients=${Math.max(...results.settings.s1.clients)}`
    const t = metric(results, 'S1', 'tandem', 'p99Ms', variant)
    const r = metric(results, 'S1', 'raw-relay', 'p99Ms', variant)
    checks.push({
      target: `S1 p99 at ${variant.slice(8)} clients ≤ 1.3× raw relay`,
      measured: `Tandem ${cell(t)} ms vs relay ${cell(r)} ms = ${ratioText(t / r)}${clientBound(results, 'S1', 'tandem', variant)}`,
      met: Number.isFinite(t) && Number.isFinite(r) ? t <= 1.3 * r : null,
    })
  }
  {
    const t = metric(results, 'S3', 'tandem', 'rssPerDocKiB')
    const best = bestPeer('S3', 'rssPerDocKiB', false)
    checks.push({
      target: 'S3 RSS per document ≤ ½ best peer',
      measured: `Tandem ${cell(t)} KiB vs ${best === null ? 'n/a' : `${best.id} ${cell(best.value)} KiB = ${ratioText(t / best.value)}`}`,
      met: best === null || !Number.isFinite(t) ? null : t <= 0.5 * best.value,
    })
  }
  {
    const t = metric(results, 'S4', 'tandem', 'warmSyncMs')
    const best = bestPeer('S4', 'warmSyncMs', false)
    checks.push({
      target: 'S4 full sync of the big document ≤ ½ best peer (warm)',
      measured: `Tandem ${cell(t)} ms vs ${best === null ? 'n/a' : `${best.id} ${cell(best.value)} ms = ${ratioText(t / best.value)}`}`,
      met: best === null || !Number.isFinite(t) ? null : t <= 0.5 * best.value,
    })
    const tc = metric(results, 'S4', 'tandem', 'coldSyncMs')
    const bestCold = bestPeer('S4', 'coldSyncMs', false)
    checks.push({
      target: 'S4 full sync of the big document ≤ ½ best peer (cold, from storage)',
      measured: `Tandem ${cell(tc)} ms vs ${bestCold === null ? 'n/a' : `${bestCold.id} ${cell(bestCold.value)} ms = ${ratioText(tc / bestCold.value)}`}`,
      met: bestCold === null || !Number.isFinite(tc) ? null : tc <= 0.5 * bestCold.value,
    })
  }
  {
    const t = metric(results, 'S5', 'tandem', 'rssPerConnKiB')
    checks.push({
      target: `S5 ≤ 8 KB server RSS per idle connection at ${results.settings.s5.connections}`,
      measured: `Tandem ${cell(t)} KiB`,
      met: Number.isFinite(t) ? t * 1024 <= 8000 : null,
    })
  }
  {
    // Both dialects: the y-websocket one stores before it broadcasts but acknowledges nothing; the
    // multiplexed one also acknowledges every update once its commit is fsync'd (durable acks).
    const cost = (server: string): number => results.summary.find((row) => row.scenario === 'S6' && row.server === server)?.metrics['throughputCostPct'] ?? NaN
    const pairs: Array<[string, number]> = [['y-websocket dialect', cost('tandem')]]
    if (results.servers.some((server) => server.id === 'tandem-mux')) pairs.push(['multiplexed, durable acks', cost('tandem-mux')])
    const costs = pairs.map(([, value]) => value)
    checks.push({
      target: 'S6 durability costs ≤ 20% of throughput',
      measured: `Tandem SQLite (full) vs storage off: ${pairs.map(([dialect, value]) => `${dialect} ${cell(value)}%`).join('; ')}`,
      met: costs.every(Number.isFinite) ? costs.every((value) => value <= 20) : null,
    })
  }
  {
    const t = metric(results, 'S7', 'tandem', 'ingestPerSec')
    const best = bestPeer('S7', 'ingestPerSec', true)
    checks.push({
      target: 'S7 ingest ≥ 2× best peer',
      measured: `Tandem ${cell(t)}/s vs ${best === null ? 'n/a' : `${best.id} ${cell(best.value)}/s = ${ratioText(t / best.value)}`}`,
      met: best === null || !Number.isFinite(t) ? null : t >= 2 * best.value,
    })
  }
  {
    const n = Math.max(...results.settings.s8.clients)
    const t = metric(results, 'S8', 'tandem', 'allAwareMs', `clients=${n}`)
    checks.push({
      target: `S8 ${n} clients fully aware of each other in < 5 s`,
      measured: `Tandem ${Number.isFinite(t) ? `${cell(t)} ms` : 'did not finish'}${clientBound(results, 'S8', 'tandem', `clients=${n}`)}`,
      met: Number.isFinite(t) ? t < 5000 : false,
    })
  }
  return checks
}

const table = (results: BenchResults, spec: TableSpec): string[] => {
  const rows = rowsOf(results, spec.scenario)
  if (rows.length === 0) return []
  const settings = results.settings as unknown as Record<string, Record<string, unknown>>
  const key = `s${spec.scenario.slice(1)}`
  const lines: string[] = [`### ${spec.title}`, '', fill(spec.what, settings[key] ?? settings['s2'] ?? {}), '']
  const variants = [...new Set(rows.map((row) => row.variant))]
  for (const variant of variants) {
    const variantRows = rows.filter((row) => row.variant === variant)
    const order = results.servers.map((server) => server.id)
    variantRows.sort((a, b) => order.indexOf(a.server) - order.indexOf(b.server))
    if (variant !== '') lines.push(`**${variant}**`, '')
    const ratioHeader = spec.headline === undefined ? [] : [`Tandem ÷ this (${spec.columns.find((column) => column.key === spec.headline!.key)?.label ?? spec.headline.key})`]
    lines.push(`| server | ${[...spec.columns.map((column) => column.label), ...ratioHeader].join(' | ')} |`)
    lines.push(`|---|${[...spec.columns, ...ratioHeader].map(() => '---:').join('|')}|`)
    const tandemValue = spec.headline === undefined ? NaN : (variantRows.find((row) => row.server === 'tandem')?.metrics[spec.headline.key] ?? NaN)
    for (const row of variantRows) {
      const cells = spec.columns.map((column) => cell(row.metrics[column.key]))
      if (spec.headline !== undefined) {
        const value = row.metrics[spec.headline.key] ?? NaN
        cells.push(row.server === 'tandem' ? '1' : ratioText(tandemValue / value))
      }
      const label = spec.scenario === 'S6' ? `${serverLabel(results, row.server)} (${row.variant.replace('off = ', 'off: ')})` : serverLabel(results, row.server)
      const planned = repsOf(results.settings, spec.scenario === 'S6' ? 'S2' : spec.scenario)
      lines.push(`| ${label}${row.reps < planned ? ` (${row.reps}/${planned} reps)` : ''} | ${cells.join(' | ')} |`)
    }
    lines.push('')
    const problems = variantRows.flatMap((row) => [...row.errors.map((error) => `${row.server}: ${error}`), ...row.notes.filter(isWarning).map((note) => `${row.server}: ${note}`)])
    if (problems.length > 0) lines.push(...problems.map((problem) => `- ⚠ ${problem}`), '')
  }
  if (spec.headline !== undefined) {
    lines.push(
      `Ratio: Tandem (SQLite, durability full) ÷ that server, on ${spec.columns.find((column) => column.key === spec.headline!.key)?.label}; ${spec.headline.higherIsBetter ? 'above 1 means Tandem is better' : 'below 1 means Tandem is better'}.`,
      '',
    )
  }
  return lines
}

const isWarning = (note: string): boolean => /did not|never|failed|deadline|differs|lost|error|exited/i.test(note)

const chartBars = (results: BenchResults, scenario: string, key: string, variant: string | undefined, servers: string[]): Bar[] =>
  servers
    .filter((id) => results.summary.some((row) => row.scenario === scenario && row.server === id))
    .map((id) => ({ label: serverLabel(results, id), value: metric(results, scenario, id, key, variant), color: COLORS[id] ?? '#999' }))

export const writeReport = (results: BenchResults, options: { markdown?: string; chartDir?: string } = {}): string[] => {
  const markdownPath = options.markdown ?? join(REPO_DIR, 'BENCHMARKS.md')
  const chartDir = options.chartDir ?? join(BENCH_DIR, 'results')
  const main = results.servers.map((server) => server.id).filter((id) => !['tandem-normal', 'tandem-mux', 'tandem-mux-memory', 'y-websocket-leveldb', 'hocuspocus-memory'].includes(id))
  const s1Variant = `clients=${Math.max(...results.settings.s1.clients)}`
  const latency = renderChart('Latency per server (medians of repetitions)', [
    { title: `S1 fan-out p99, ${s1Variant.slice(8)} clients, 100 edits/s`, unit: 'ms', hint: 'lower is better', bars: chartBars(results, 'S1', 'p99Ms', s1Variant, main) },
    { title: `S1 fan-out p50, ${s1Variant.slice(8)} clients`, unit: 'ms', hint: 'lower is better', bars: chartBars(results, 'S1', 'p50Ms', s1Variant, main) },
    { title: 'S2 p99 latency under full load', unit: 'ms', hint: 'lower is better', bars: chartBars(results, 'S2', 'p99Ms', undefined, main) },
    { title: 'S4 full sync of the big document (warm)', unit: 'ms', hint: 'lower is better', bars: chartBars(results, 'S4', 'warmSyncMs', undefined, main) },
  ])
  const throughput = renderChart('Throughput per server (medians of repetitions)', [
    { title: 'S2 delivered updates per second (10 writers, 10 readers)', unit: '/s', hint: 'higher is better', bars: chartBars(results, 'S2', 'updatesPerSec', undefined, main) },
    { title: 'S6 same, storage on and off', unit: '/s', hint: 'higher is better', bars: chartBars(results, 'S2', 'updatesPerSec', undefined, results.servers.map((server) => server.id).filter((id) => id !== 'raw-relay')) },
    { title: 'S7 ingest of the trace, updates per second', unit: '/s', hint: 'higher is better', bars: chartBars(results, 'S7', 'ingestPerSec', undefined, main) },
  ])
  const latencyPath = join(chartDir, 'latency.svg')
  const throughputPath = join(chartDir, 'throughput.svg')
  writeFileSync(latencyPath, latency)
  writeFileSync(throughputPath, throughput)

  const foreign = results.runs.flatMap((run) =>
    Object.entries(run.metrics)
      .filter(([key, value]) => /foreignCpuPct$/i.test(key) && typeof value === 'number' && Number.isFinite(value))
      .map(([, value]) => value),
  )
  const foreignMedian = median(foreign)
  const foreignMax = foreign.length === 0 ? NaN : Math.max(...foreign)
  const checks = checkTargets(results)
  const missed = checks.filter((check) => check.met === false)
  const machine = results.machine
  const minutes = results.finishedAt === null ? null : (Date.parse(results.finishedAt) - Date.parse(results.startedAt)) / 60_000
  const relChart = (path: string) => relative(dirname(markdownPath), path)
  const lines: string[] = [
    '# Benchmarks',
    '',
    '<!-- Generated by bench/report.ts from bench/results/full.json; edit bench/analysis.md or the generator, not this file. -->',
    '',
    'Tandem side by side with the servers its users would otherwise run, measured in the same run on the same machine:',
    '`@y/websocket-server`, `@hocuspocus/server` with its SQLite extension, and a raw `ws` relay that forwards frames with no CRDT work (the ceiling).',
    '',
    '## Run it',
    '',
    '```sh',
    'npm_config_nodedir=/usr pnpm install   # once',
    'pnpm run build                         # build Tandem (the harness runs the built CLI, server/dist/cli.js)',
    `pnpm bench                             # the full comparison${minutes === null ? '' : ` (about ${Math.ceil(minutes)} minutes here)`}; rewrites this file`,
    'pnpm --filter @tandem/bench run bench:smoke   # a few seconds per server: checks the harness, not the numbers',
    'pnpm --filter @tandem/bench exec tsx src/run.ts --servers tandem --scenarios S2 --cpu-prof /tmp/prof --no-report  # profile one scenario',
    '```',
    '',
    `This run: \`${results.command}\`, ${results.startedAt.slice(0, 16).replace('T', ' ')} UTC${minutes === null ? ' (did not finish)' : `, ${minutes.toFixed(1)} minutes`}, profile \`${results.profile}\`, medians of ${repsText(results.settings)}.`,
    '',
    '## Machine',
    '',
    `| | |`,
    `|---|---|`,
    `| CPUs (nproc) | ${machine.nproc} |`,
    `| CPU model | ${machine.cpuModel} |`,
    `| RAM | ${machine.memoryGiB} GiB |`,
    `| Node.js | ${machine.node} |`,
    `| Linux | ${machine.kernel} |`,
    `| Other load during the run | median ${cell(foreignMedian)}% of one CPU, at most ${cell(foreignMax)}% (CPU time of processes other than the server, the runner and its workers) |`,
    `| Pinning | ${results.pinning === null ? 'none' : `server under test on CPU ${results.pinning.server}${results.pinning.serverHelpers === undefined ? '' : ` (its helper threads on CPUs ${results.pinning.serverHelpers})`}; load generator (runner${(results.pinning.launchers ?? 0) > 0 ? `, the ${results.pinning.launchers === 1 ? 'process' : `${results.pinning.launchers} processes`} that launched it` : ''} and ${results.settings.workers} worker processes) on CPU ${results.pinning.clients}`} |`,
    '',
    ...(foreignMedian > 20
      ? [
          `**This machine was shared while the benchmark ran**: other processes used a median of ${cell(foreignMedian)}% of a CPU during the measured phases (the "other CPU %" columns). Latencies and rates below are depressed and noisy accordingly, for every server alike; ratios between servers measured in the same repetition are more trustworthy than absolute numbers. Memory figures are not affected.`,
          '',
        ]
      : []),
    '## Servers',
    '',
    '| id | server | version | dialect | storage |',
    '|---|---|---|---|---|',
    ...results.servers.map((server) => `| \`${server.id}\` | ${server.label} | ${server.version} | ${server.dialect} | ${server.storage} |`),
    '',
    '## Targets',
    '',
    '| target | measured | met |',
    '|---|---|:---:|',
    ...checks.map((check) => `| ${check.target} | ${check.measured} | ${check.met === null ? 'not measured' : check.met ? 'yes' : '**NO**'} |`),
    '',
    missed.length === 0
      ? 'Every target measured here is met.'
      : `**Tandem misses ${missed.length} of ${checks.length} targets in this run:** ${missed.map((check) => check.target.split(' ')[0]).join(', ')}. The causes found by profiling are in the analysis below.`,
    '',
    '## Charts',
    '',
    `![latency per server](${relChart(latencyPath)})`,
    '',
    `![throughput per server](${relChart(throughputPath)})`,
    '',
    '## Results',
    '',
    'Medians over the repetitions. Server CPU is user + system time of the server process (all its threads) over the measured phase, as a share of one core (in S1 and S2 also the part outside its main thread: V8\'s compiler and garbage-collector helpers, libuv\'s thread pool); client CPU the same summed over the load generator\'s worker processes. "–" means not applicable or not measured.',
    '',
    ...TABLES.flatMap((spec) => table(results, spec)),
  ]
  const analysisPath = join(BENCH_DIR, 'analysis.md')
  if (existsSync(analysisPath)) lines.push('## Analysis', '', readFileSync(analysisPath, 'utf8').trim(), '')
  lines.push('## How the harness measures', '', readFileSync(join(BENCH_DIR, 'METHOD.md'), 'utf8').trim(), '')
  writeFileSync(markdownPath, `${lines.join('\n')}\n`)
  return [markdownPath, latencyPath, throughputPath]
}

// Run as a script: `tsx report.ts [results.json]`.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = resolve(process.argv[2] ?? join(BENCH_DIR, 'results', 'full.json'))
  const results = JSON.parse(readFileSync(file, 'utf8')) as BenchResults
  for (const path of writeReport(results)) process.stdout.write(`${path}\n`)
}
