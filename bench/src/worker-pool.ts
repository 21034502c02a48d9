import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** A request from the runner to a worker: run handler `cmd` with `args`. */
export interface WorkerRequest {
  readonly id: number
  readonly cmd: string
  readonly args: unknown
}

export type WorkerReply = { readonly id: number; readonly ok: true; readonly result: unknown } | { readonly id: number; readonly ok: false; readonly error: string }

const WORKER_MAIN = fileURLToPath(new URL('./worker.ts', import.meta.url))

/**
 * The client side of the benchmark: a few worker processes, each running many bench clients.
 * The runner only coordinates; every socket lives in a worker, so the runner's own work never
 * delays a measurement, and the workers' CPU is measured from /proc like the server's.
 */
export class WorkerPool {
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()

  private constructor(readonly workers: readonly ChildProcess[]) {
    for (const worker of workers) {
      worker.on('message', (reply: WorkerReply) => {
        const waiter = this.pending.get(reply.id)
        if (waiter === undefined) return
        this.pending.delete(reply.id)
        if (reply.ok) waiter.resolve(reply.result)
        else waiter.reject(new Error(reply.error))
      })
      worker.on('exit', (code, signal) => {
        for (const [id, waiter] of this.pending) {
          waiter.reject(new Error(`worker ${worker.pid} exited (${code ?? signal}) during request ${id}`))
        }
        this.pending.clear()
      })
    }
  }

  static async start(count: number): Promise<WorkerPool> {
    const workers = Array.from({ length: count }, (_, index) =>
      fork(WORKER_MAIN, [String(index)], {
        execArgv: ['--import', 'tsx', '--max-old-space-size=4096', ...(process.env.BENCH_WORKER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_WORKER_PROF}`] : [])],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        serialization: 'advanced',
      }),
    )
    const pool = new WorkerPool(workers)
    await Promise.all(workers.map((_, index) => pool.call(index, 'ping', {})))
    return pool
  }

  get size(): number {
    return this.workers.length
  }

  /** The load generator's processes: the workers and the runner itself (for CPU accounting). */
  get pids(): number[] {
    return [...this.workers.map((worker) => worker.pid!), process.pid]
  }

  call<T = unknown>(index: number, cmd: string, args: unknown): Promise<T> {
    const worker = this.workers[index]
    if (worker === undefined) throw new Error(`no worker ${index}`)
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
      worker.send({ id, cmd, args } satisfies WorkerRequest)
    })
  }

  /** Calls every worker with its own arguments (`args(index)`), in parallel. */
  all<T = unknown>(cmd: string, args: (index: number) => unknown): Promise<T[]> {
    return Promise.all(this.workers.map((_, index) => this.call<T>(index, cmd, args(index))))
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            if (worker.exitCode !== null || worker.signalCode !== null) {
              resolve()
              return
            }
            worker.once('exit', () => resolve())
            worker.disconnect()
            setTimeout(() => worker.kill('SIGKILL'), 5_000).unref()
          }),
      ),
    )
  }
}

/** Splits `items` round-robin over `parts` lists. */
export const spread = <T>(items: readonly T[], parts: number): T[][] => {
  const lists: T[][] = Array.from({ length: parts }, () => [])
  items.forEach((item, index) => lists[index % parts]!.push(item))
  return lists
}

export const range = (count: number, start = 0): number[] => Array.from({ length: count }, (_, index) => start + index)
