import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { EditSpans } from '../bench/src/edit-spans.js'
import { allowedCpus, isLauncher } from '../bench/src/proc-stats.js'
import { RunningServer, serverSpecs } from '../bench/src/server-process.js'

/**
 * The benchmark harness (bench/) in its smoke profile: tiny sizes, one repetition, Tandem and the
 * raw relay only. This checks that the harness works end to end and writes well-formed results with
 * nonzero counts. It never asserts a timing: CI machines are too noisy for that, and the full
 * comparison (`pnpm bench`) is where speed is judged.
 */

const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'bench')
const workDir = mkdtempSync(join(tmpdir(), 'tandem-bench-smoke-'))
afterAll(() => rmSync(workDir, { recursive: true, force: true }))

interface Run {
  scenario: string
  variant: string
  server: string
  metrics: Record<string, number | null>
  notes: string[]
  error?: string
}

/** Runs the smoke profile; `via: 'npx'` starts it as a user would (`npx tsx src/run.ts`), through npm exec and tsx's wrapper. */
const runSmoke = (out: string, selection = ['--servers', 'tandem,raw-relay'], via: 'node' | 'npx' = 'node'): Promise<{ code: number | null; output: string }> =>
  new Promise((resolve, reject) => {
    const args = ['src/run.ts', '--profile', 'smoke', ...selection, '--out', out, '--no-report', '--quiet']
    const child =
      via === 'npx'
        ? spawn('npx', ['tsx', ...args], { cwd: BENCH_DIR, stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: BENCH_DIR, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const deadline = setTimeout(() => child.kill('SIGKILL'), 150_000)
    child.once('error', reject)
    child.once('exit', (code) => {
      clearTimeout(deadline)
      resolve({ code, output })
    })
  })

describe('benchmark harness (smoke profile)', () => {
  it('runs every scenario against Tandem and the raw relay and writes well-formed results', async () => {
    const out = join(workDir, 'smoke.json')
    const { code, output } = await runSmoke(out)
    expect(code, output).toBe(0)
    const results = JSON.parse(readFileSync(out, 'utf8')) as {
      schema: number
      finishedAt: string | null
      machine: { nproc: number; node: string }
      runs: Run[]
      summary: Array<{ scenario: string; server: string; metrics: Record<string, number | null> }>
    }
    expect(results.schema).toBe(1)
    expect(results.finishedAt).not.toBeNull()
    expect(results.machine.nproc).toBeGreaterThan(0)

    const failed = results.runs.filter((run) => run.error !== undefined)
    expect(failed.map((run) => `${run.scenario} ${run.server}: ${run.error}`)).toEqual([])

    const run = (scenario: string, server: string): Run => {
      const found = results.runs.find((entry) => entry.scenario === scenario && entry.server === server)
      if (found === undefined) throw new Error(`no ${scenario} run on ${server}`)
      return found
    }
    const positive = (value: number | null | undefined) => expect(value ?? 0).toBeGreaterThan(0)

    for (const server of ['tandem', 'raw-relay']) {
      positive(run('S1', server).metrics['samples'])
      // Per edit, its first delivery comes no later than its last, and every delivery lies between them.
      const { firstP50Ms, lastP50Ms, firstP99Ms, lastP99Ms, maxMs } = run('S1', server).metrics
      positive(firstP50Ms)
      expect(firstP50Ms).toBeLessThanOrEqual(lastP50Ms!)
      expect(firstP99Ms).toBeLessThanOrEqual(lastP99Ms!)
      expect(lastP99Ms).toBeLessThanOrEqual(maxMs!)
      // S1's CPU meters start with the measured window, on a timer.
      positive(run('S1', server).metrics['serverCpuPct'])
      positive(run('S2', server).metrics['updatesPerSec'])
      expect(Number.isFinite(run('S3', server).metrics['rssPerDocKiB'])).toBe(true)
      positive(run('S3', server).metrics['documents'])
      positive(run('S5', server).metrics['connections'])
      positive(run('S7', server).metrics['ingestPerSec'])
      // CPU and memory are read from /proc for every run.
      expect(Number.isFinite(run('S2', server).metrics['serverCpuPct'])).toBe(true)
      positive(run('S2', server).metrics['serverRssMiB'])
      // So is the load generator's, summed over the runner and its workers.
      positive(run('S2', server).metrics['clientCpuPct'])
      // The helper threads' part (V8's and libuv's) is a part of the server's CPU, read per thread.
      const { serverCpuPct, serverHelperCpuPct } = run('S2', server).metrics
      expect(serverHelperCpuPct).toBeGreaterThanOrEqual(0)
      expect(serverHelperCpuPct).toBeLessThanOrEqual(serverCpuPct!)
    }
    // Only a server that keeps state can serve the big document and presence.
    positive(run('S4', 'tandem').metrics['stateBytes'])
    expect(run('S4', 'tandem').notes.join(' ')).not.toMatch(/did not carry/)
    positive(run('S8', 'tandem').metrics['allAwareMs'])
    expect(run('S8', 'tandem').metrics['pairsSeenShare']).toBe(1)
    expect(results.runs.some((entry) => entry.scenario === 'S8' && entry.server === 'raw-relay')).toBe(false)
    // Medians exist for every scenario that ran.
    expect(new Set(results.summary.map((row) => row.scenario))).toEqual(new Set(['S1', 'S2', 'S3', 'S4', 'S5', 'S7', 'S8']))
  }, 180_000)

  it('measures the cost of durable acknowledgements over the multiplexed dialect (S6)', async () => {
    const out = join(workDir, 'smoke-s6.json')
    const { code, output } = await runSmoke(out, ['--servers', 'tandem-mux,tandem-mux-memory', '--scenarios', 'S2'])
    expect(code, output).toBe(0)
    const results = JSON.parse(readFileSync(out, 'utf8')) as {
      runs: Run[]
      summary: Array<{ scenario: string; variant: string; server: string; metrics: Record<string, number | null> }>
    }
    expect(results.runs.filter((run) => run.error !== undefined).map((run) => `${run.server}: ${run.error}`)).toEqual([])
    for (const server of ['tandem-mux', 'tandem-mux-memory']) {
      const run = results.runs.find((entry) => entry.scenario === 'S2' && entry.server === server)
      expect(run?.notes).toContain('dialect multiplexed')
      expect(run?.metrics['updatesPerSec'] ?? 0).toBeGreaterThan(0)
    }
    const s6 = results.summary.find((row) => row.scenario === 'S6' && row.server === 'tandem-mux')
    expect(s6?.variant).toBe('off = tandem-mux-memory')
    expect(Number.isFinite(s6?.metrics['throughputCostPct'])).toBe(true)
  }, 120_000)

  // `--float-helpers` (a diagnostic): the server's main thread stays on CPU 0, its other threads get
  // every CPU. Tandem's threads (V8's helpers, libuv's pool) all exist once it is ready, so this holds
  // the move itself; the 200 ms re-check is for servers whose thread pool starts later.
  it.skipIf(availableParallelism() < 2)('with --float-helpers keeps only the main thread on the server CPU', async () => {
    const server = await RunningServer.start(serverSpecs().get('tandem')!, { cpuSet: '0', helperCpuSet: '0-1', logDir: workDir })
    try {
      // A write first, so the pool's threads are read after they have run an fsync, not only idle.
      const doc = new Y.Doc()
      doc.getText('t').insert(0, 'hello')
      const update = Y.encodeStateAsUpdate(doc)
      const socket = new WebSocket(`${server.base}/float-helpers`)
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject))
      // y-websocket's framing: sync (0), update (2), the update's length (one byte here), the update.
      socket.send(new Uint8Array([0, 2, update.length, ...update]))
      socket.close()
      const deadline = Date.now() + 10_000
      let seen: Array<[number, string | null]> = []
      for (;;) {
        // A thread that ended between the listing and the read (null) is left out.
        seen = readdirSync(`/proc/${server.pid}/task`)
          .map((tid): [number, string | null] => [Number(tid), allowedCpus(server.pid, Number(tid))])
          .filter(([, list]) => list !== null)
        const helpers = seen.filter(([tid]) => tid !== server.pid)
        if (helpers.length > 0 && helpers.every(([, list]) => list === '0-1')) break
        if (Date.now() > deadline) break
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      expect(allowedCpus(server.pid)).toBe('0')
      expect(seen.filter(([tid]) => tid !== server.pid).map(([, list]) => list)).not.toContain('0')
      expect(seen.length).toBeGreaterThan(1)
    } finally {
      await server.stop()
      server.removeData()
    }
  }, 60_000)

  it('keeps each S1 edit\'s first and last delivery, merged over workers', () => {
    const worker1 = new EditSpans()
    const worker2 = new EditSpans()
    // Edit 0 reaches worker 1's readers at 100 and 900 µs, worker 2's at 200 and 1,500 µs: its
    // first delivery is worker 1's, its last worker 2's.
    for (const latency of [900, 100]) worker1.record(0, latency)
    for (const latency of [1_500, 200]) worker2.record(0, latency)
    // Edits 1-3 only reach worker 2.
    for (const [seq, latency] of [[1, 400], [2, 5_000], [3, 600], [3, 700]] as const) worker2.record(seq, latency)
    const spans = EditSpans.from([JSON.parse(JSON.stringify(worker1.toJSON())), worker2.toJSON()])
    // First deliveries: 100, 400, 5,000, 600; last: 1,500, 400, 5,000, 700.
    expect(spans.first(0.25)).toBe(100)
    expect(spans.first(0.5)).toBe(400)
    expect(spans.first(0.75)).toBe(600)
    expect(spans.first(0.99)).toBe(5_000)
    expect(spans.last(0.5)).toBe(700)
    expect(spans.last(0.75)).toBe(1_500)
    expect(new EditSpans().first(0.5)).toBeNaN()
  })

  // The processes that launched the runner (npx, tsx's wrapper, pnpm) go to the clients' CPUs with it;
  // the walk up passes shells and stops at the first other process (vitest, here).
  it('tells the runner\'s launchers from other processes', () => {
    const cases: Array<[string, boolean]> = [
      ['npm exec tsx src/run.ts --profile smoke', true],
      ['node /repo/node_modules/tsx/dist/cli.mjs src/run.ts --profile full', true],
      ['sh -c pnpm --filter @tandem/bench run bench', true],
      ['node /usr/lib/node_modules/pnpm/bin/pnpm.cjs bench', true],
      ['npm exec pnpm@12.4.2 bench', true],
      // npm exec runs the package's bin through a shell, quoted.
      ["sh -c 'pnpm' bench --servers raw-relay", true],
      ['node /repo/node_modules/vitest/dist/workers/forks.js', false],
      ['-bash', false],
      ['node src/run-other.ts', false],
      // A test file named after the benchmark, or a package manager's cache in a path, is not a launcher.
      ['npm exec vitest run test/bench-smoke.test.ts', false],
      ['node /home/u/.npm/_npx/h/node_modules/vitest/vitest.mjs run test/bench-smoke.test.ts', false],
      ['node /repo/node_modules/.pnpm/vitest@4/node_modules/vitest/vitest.mjs bench', false],
    ]
    for (const [cmdline, launcher] of cases) expect(isLauncher(cmdline), cmdline).toBe(launcher)
  })

  it.skipIf(availableParallelism() < 2)('moves the processes that launched it off the server CPU', async () => {
    const out = join(workDir, 'smoke-launchers.json')
    const { code, output } = await runSmoke(out, ['--servers', 'raw-relay', '--scenarios', 'S1'], 'npx')
    expect(code, output).toBe(0)
    const results = JSON.parse(readFileSync(out, 'utf8')) as { pinning: { clients: string; launchers?: number } | null }
    // npx (npm exec) and tsx's wrapper process (not the shell between them), each read back on the clients' CPUs.
    expect(results.pinning?.launchers, output).toBeGreaterThanOrEqual(2)
  }, 120_000)
})
