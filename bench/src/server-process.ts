import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Dialect } from './wire.js'
import { moveToCpus, sampleProcess, type ProcSample } from './proc-stats.js'

export const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)))
export const REPO_DIR = dirname(BENCH_DIR)
const TANDEM_CLI = join(REPO_DIR, 'server', 'dist', 'cli.js')

/**
 * The Node flags `npm start` runs Tandem with, read from the root package.json's `serve` script so
 * the benchmark measures the server as it ships (today a smaller young generation,
 * `--max-semi-space-size=8`, and a slower-growing old one, `--heap-growing-percent=20`: see
 * docs/architecture.md "Memory").
 */
export const TANDEM_NODE_FLAGS: readonly string[] = (() => {
  const serve = (JSON.parse(readFileSync(join(REPO_DIR, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['serve'] ?? ''
  const match = /\bnode((?: --\S+)*) server\/dist\/cli\.js serve\b/.exec(serve)
  if (match === null) throw new Error(`cannot find \`node [flags] server/dist/cli.js serve\` in the serve script: ${serve}`)
  return match[1]!.trim().split(' ').filter((flag) => flag !== '')
})()

/** How one server under test is started and what it can do. */
export interface ServerSpec {
  readonly id: string
  readonly label: string
  readonly family: 'tandem' | 'y-websocket' | 'hocuspocus' | 'raw-relay'
  /** The dialect the load generator speaks to it. */
  readonly dialect: Dialect
  /** `durable`: commits before it acknowledges (or before a restart); `debounced`: stores later; `none`. */
  readonly storage: 'durable' | 'debounced' | 'none'
  /** Keeps documents across a graceful restart (S4 cold sync). */
  readonly persistent: boolean
  /** Keeps a document's state at all (the raw relay does not). */
  readonly stateful: boolean
  /** Sends an acknowledgement per accepted update (multiplexed SyncStatus). */
  readonly acknowledges: boolean
  readonly version: string
  /** Process to run: `[executable, ...arguments]`. */
  command(port: number, dataDir: string, options: LaunchOptions): string[]
}

export interface LaunchOptions {
  /** Write a V8 CPU profile into this directory when the process exits (Tandem only). */
  readonly cpuProfDir?: string
}

const packageVersion = (name: string): string => {
  try {
    const path = join(BENCH_DIR, 'node_modules', name, 'package.json')
    return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

const tandemVersion = (): string => {
  let version = 'unknown'
  try {
    version = (JSON.parse(readFileSync(join(REPO_DIR, 'server', 'package.json'), 'utf8')) as { version: string }).version
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_DIR, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'server', 'packages'], { cwd: REPO_DIR, encoding: 'utf8' }).trim() !== ''
    version += ` (${commit}${dirty ? '+uncommitted' : ''})`
  } catch {
    // not a git checkout: the package version alone
  }
  return version
}

/**
 * The peers' launchers are plain JavaScript run by plain Node, like Tandem's CLI: a TypeScript
 * loader would add a thread with a V8 heap of its own to every server, whose memory reducer kicks
 * in at some moment between two RSS samples (16 MB here: 8 KiB per document of S3, either way).
 */
const peer = (script: string, ...args: string[]): string[] => [process.execPath, join(BENCH_DIR, 'servers', script), ...args]

/** The flags that lift `tandem serve`'s per-address and per-server limits (see `tandem`). */
const CONNECTION_LIMITS = [
  '--max-connections', '100000',
  '--max-connections-per-ip', '100000',
  '--max-documents', '100000',
]
/** ...and its per-connection rate limit too. */
const UNLIMITED = '1000000000'
const LIFTED_LIMITS = [
  ...CONNECTION_LIMITS,
  '--messages-per-second', UNLIMITED,
  '--message-burst', UNLIMITED,
  '--bytes-per-second', `${UNLIMITED}000`,
  '--bytes-burst', `${UNLIMITED}000`,
]

const tandem = (
  id: string,
  label: string,
  extra: string[],
  storage: ServerSpec['storage'],
  nodeFlags: readonly string[] = TANDEM_NODE_FLAGS,
  limits: readonly string[] = LIFTED_LIMITS,
  dialect: Dialect = 'y-websocket',
): ServerSpec => ({
  id,
  label,
  family: 'tandem',
  dialect,
  storage,
  persistent: storage === 'durable',
  stateful: true,
  // Only the multiplexed dialect has acknowledgements; S7 switches to it for every Tandem server.
  acknowledges: dialect === 'multiplexed',
  version: tandemVersion(),
  // `tandem serve` as `npm start` runs it (Node flags included), with authentication off and the
  // per-connection and per-address limits lifted: every benchmark client comes from 127.0.0.1,
  // S3/S5/S8 open up to 10,000 sockets (default: 256 per address), and the S2 and S7 writers send
  // far more than 500 messages/s each (the default rate closes them with 1013). `tandem-cli` below
  // keeps the default rate limit.
  command: (port, dataDir, options) => [
    process.execPath,
    ...nodeFlags,
    ...(options.cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`]),
    TANDEM_CLI,
    'serve',
    '--host', '127.0.0.1',
    '--port', String(port),
    '--data', dataDir,
    '--log-level', 'warn',
    '--no-auth',
    ...limits,
    ...extra,
  ],
})

/** `tandem serve` with its connection limits lifted but its rate limit (500 messages/s per connection) kept. */
const tandemCli = (): ServerSpec => tandem('tandem-cli', 'Tandem CLI (default rate limit)', [], 'durable', TANDEM_NODE_FLAGS, CONNECTION_LIMITS)

/** Every server the harness knows, by id. */
export const serverSpecs = (): Map<string, ServerSpec> => {
  const ywsVersion = `@y/websocket-server ${packageVersion('@y/websocket-server')}`
  const hpVersion = `@hocuspocus/server ${packageVersion('@hocuspocus/server')}`
  const specs: ServerSpec[] = [
    tandem('tandem', 'Tandem (SQLite, durability full)', [], 'durable'),
    tandem('tandem-normal', 'Tandem (SQLite, durability normal)', ['--durability', 'normal'], 'durable'),
    tandem('tandem-memory', 'Tandem (storage off)', ['--storage', 'memory'], 'none'),
    // The same two over the multiplexed dialect, where every update is acknowledged (after its
    // commit and fsync when storage is on): S6's cost of durable acknowledgements proper.
    tandem('tandem-mux', 'Tandem multiplexed (SQLite, durable acks)', [], 'durable', TANDEM_NODE_FLAGS, LIFTED_LIMITS, 'multiplexed'),
    tandem('tandem-mux-memory', 'Tandem multiplexed (storage off)', ['--storage', 'memory'], 'none', TANDEM_NODE_FLAGS, LIFTED_LIMITS, 'multiplexed'),
    // The same server without `npm start`'s Node flags (Node's default heap sizes, as the peers run):
    // what the flags are worth, and what an embedder who starts Node plainly gets.
    tandem('tandem-node-defaults', "Tandem (SQLite, Node's default heap flags)", [], 'durable', []),
    tandemCli(),
    {
      id: 'y-websocket',
      label: 'y-websocket server (no persistence)',
      family: 'y-websocket',
      dialect: 'y-websocket',
      storage: 'none',
      persistent: false,
      stateful: true,
      acknowledges: false,
      version: ywsVersion,
      command: (port) => peer('y-websocket.mjs', '--host', '127.0.0.1', '--port', String(port)),
    },
    {
      id: 'y-websocket-leveldb',
      label: 'y-websocket server (LevelDB)',
      family: 'y-websocket',
      dialect: 'y-websocket',
      storage: 'debounced',
      persistent: true,
      stateful: true,
      acknowledges: false,
      version: ywsVersion,
      command: (port, dataDir) => peer('y-websocket.mjs', '--host', '127.0.0.1', '--port', String(port), '--persistence', join(dataDir, 'leveldb')),
    },
    {
      id: 'hocuspocus',
      label: 'Hocuspocus (SQLite extension)',
      family: 'hocuspocus',
      dialect: 'multiplexed',
      storage: 'debounced',
      persistent: true,
      stateful: true,
      acknowledges: true,
      version: hpVersion,
      command: (port, dataDir) => peer('hocuspocus.mjs', '--host', '127.0.0.1', '--port', String(port), '--storage', 'sqlite', '--data', dataDir),
    },
    {
      id: 'hocuspocus-memory',
      label: 'Hocuspocus (no persistence)',
      family: 'hocuspocus',
      dialect: 'multiplexed',
      storage: 'none',
      persistent: false,
      stateful: true,
      acknowledges: true,
      version: hpVersion,
      command: (port) => peer('hocuspocus.mjs', '--host', '127.0.0.1', '--port', String(port), '--storage', 'memory'),
    },
    {
      id: 'raw-relay',
      label: 'raw ws relay (ceiling)',
      family: 'raw-relay',
      dialect: 'y-websocket',
      storage: 'none',
      persistent: false,
      stateful: false,
      acknowledges: false,
      version: `ws ${packageVersion('ws')}`,
      command: (port) => peer('raw-relay.mjs', '--host', '127.0.0.1', '--port', String(port)),
    },
  ]
  return new Map(specs.map((spec) => [spec.id, spec]))
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** A server process under test. */
export class RunningServer {
  private exited: Promise<number | null>
  private exitCode: number | null | undefined = undefined
  /** Re-pins the server's helper threads as they appear (see `floatHelpers`). */
  private helperWatch: NodeJS.Timeout | null = null

  private constructor(
    readonly spec: ServerSpec,
    readonly child: ChildProcess,
    readonly port: number,
    readonly dataDir: string,
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        if (this.helperWatch !== null) clearInterval(this.helperWatch)
        this.exitCode = code ?? (signal === null ? null : -1)
        resolve(this.exitCode)
      })
    })
  }

  get pid(): number {
    return this.child.pid!
  }

  get base(): string {
    return `ws://127.0.0.1:${this.port}`
  }

  get running(): boolean {
    return this.exitCode === undefined
  }

  sample(): ProcSample {
    const sample = sampleProcess(this.pid)
    if (sample === null) throw new Error(`${this.spec.id} (pid ${this.pid}) is gone; see ${this.logFile}`)
    return sample
  }

  /**
   * Gives every thread of the server but its main thread (V8's compiler and GC helpers, libuv's
   * thread pool) the CPUs `cpuSet`, now and every 200 ms for threads started later (a thread
   * inherits its creator's CPUs, so the thread pool, started on first use, would stay on the
   * server's CPU). A diagnostic (`--float-helpers`): whether a server's latency comes from its
   * helper threads taking turns with its event loop on one CPU.
   */
  private floatHelpers(cpuSet: string): void {
    // Exited while it was being asked whether it is ready: nothing to watch (its pid may be reused).
    if (!this.running) return
    const moved = new Set<number>([this.pid])
    const move = (): void => {
      let tids: number[]
      try {
        tids = readdirSync(`/proc/${this.pid}/task`).map(Number)
      } catch {
        return
      }
      for (const tid of tids) {
        if (moved.has(tid)) continue
        moved.add(tid)
        // False when the thread ended meanwhile.
        moveToCpus(tid, cpuSet, 'thread')
      }
    }
    move()
    this.helperWatch = setInterval(move, 200)
    this.helperWatch.unref()
  }

  /**
   * Starts `spec` on a free port of 127.0.0.1 and waits until it answers HTTP (`/readyz`). With
   * `cpuSet`, the process runs on those CPUs only (taskset), away from the load generator; with
   * `helperCpuSet` too, only its main thread does (see `floatHelpers`).
   */
  static async start(
    spec: ServerSpec,
    options: { dataDir?: string; cpuSet?: string; helperCpuSet?: string; logDir: string; launch?: LaunchOptions; readyTimeoutMs?: number },
  ): Promise<RunningServer> {
    const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), `tandem-bench-${spec.id}-`))
    const port = await freePort()
    const argv = spec.command(port, dataDir, options.launch ?? {})
    const full = options.cpuSet === undefined ? argv : ['taskset', '-c', options.cpuSet, ...argv]
    const logFile = join(options.logDir, `${spec.id}-${port}.log`)
    const log = createWriteStream(logFile)
    const child = spawn(full[0]!, full.slice(1), { cwd: BENCH_DIR, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'production' } })
    child.stdout!.pipe(log)
    child.stderr!.pipe(log)
    const server = new RunningServer(spec, child, port, dataDir, logFile)
    const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000)
    for (;;) {
      if (!server.running) throw new Error(`${spec.id} exited during start-up; see ${logFile}`)
      try {
        const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1_000) })
        await response.arrayBuffer()
        if (response.status === 200) {
          if (options.helperCpuSet !== undefined) server.floatHelpers(options.helperCpuSet)
          return server
        }
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await server.stop()
        throw new Error(`${spec.id} not ready within ${options.readyTimeoutMs ?? 20_000} ms; see ${logFile}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }

  /** SIGTERM (graceful: stores flush), then SIGKILL after `timeoutMs`. Resolves with the exit code. */
  async stop(timeoutMs = 15_000): Promise<number | null> {
    if (this.helperWatch !== null) clearInterval(this.helperWatch)
    if (!this.running) return this.exitCode ?? null
    this.child.kill('SIGTERM')
    const killer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs)
    const code = await this.exited
    clearTimeout(killer)
    return code
  }

  removeData(): void {
    rmSync(this.dataDir, { recursive: true, force: true })
  }
}
