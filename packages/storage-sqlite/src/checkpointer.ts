import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

/**
 * WAL checkpoints in a worker thread, with a connection of its own.
 *
 * SQLite checkpoints automatically inside the commit that pushes the WAL past `wal_autocheckpoint`
 * pages: it fsyncs the WAL, copies the pages into the database file and fsyncs that, on the thread
 * that committed. On the event loop that is a stall of milliseconds every few hundred commits, seen
 * by every socket. Here a worker runs `PRAGMA wal_checkpoint(PASSIVE)` (which never blocks the
 * writer) every `everyCommits` commits, so the automatic checkpoint, left on at a higher threshold
 * as a bound on the WAL's size, finds the pages already copied and has almost nothing to do.
 *
 * The worker is plain JavaScript evaluated from a string, so it runs the same from the TypeScript
 * sources (tests) and from dist.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.file, { fileMustExist: true })
db.pragma('busy_timeout = 5000')
db.pragma('synchronous = NORMAL')
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close()
    parentPort.close()
    return
  }
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)')
    parentPort.postMessage({ ok: true, busy: result.busy, log: result.log, checkpointed: result.checkpointed })
  } catch (error) {
    parentPort.postMessage({ ok: false, message: String(error && error.message || error) })
  }
})
`

export interface CheckpointResult {
  readonly ok: boolean
  /** Frames in the WAL, and how many of them are now in the database file. */
  readonly log?: number
  readonly checkpointed?: number
  readonly message?: string
}

export class Checkpointer {
  #worker: Worker | null = null
  #running: Promise<CheckpointResult> | null = null
  #again = false
  #closed = false
  #commits = 0
  #count = 0

  constructor(
    private readonly file: string,
    private readonly everyCommits: number,
    private readonly onError: (message: string) => void = () => {},
  ) {}

  /** Checkpoints completed so far. */
  get count(): number {
    return this.#count
  }

  /** Starts the worker (it also starts on the first checkpoint). */
  start(): void {
    if (!this.#closed) this.#worker ??= this.#spawn()
  }

  /** Counts a commit; every `everyCommits` of them (or with `force`) a checkpoint is started. */
  committed(force = false): void {
    if (this.#closed) return
    if (!force && ++this.#commits < this.everyCommits) return
    this.#commits = 0
    this.request()
  }

  /** Starts a checkpoint, or another one right after the one running. Resolves with its result. */
  request(): Promise<CheckpointResult> {
    if (this.#closed) return Promise.resolve({ ok: false, message: 'closed' })
    if (this.#running !== null) {
      this.#again = true
      return this.#running
    }
    const worker = (this.#worker ??= this.#spawn())
    const run = new Promise<CheckpointResult>((resolve) => {
      const onExit = () => resolve({ ok: false, message: 'checkpoint worker exited' })
      worker.once('exit', onExit)
      worker.once('message', (result: CheckpointResult) => {
        worker.off('exit', onExit)
        resolve(result)
      })
      worker.postMessage('checkpoint')
    })
    this.#running = run.then((result) => {
      this.#running = null
      if (result.ok) this.#count++
      else this.onError(result.message ?? 'checkpoint failed')
      if (this.#again && !this.#closed) {
        this.#again = false
        void this.request()
      }
      return result
    })
    return this.#running
  }

  /** Waits for the checkpoint under way, then stops the worker. */
  async close(): Promise<void> {
    this.#closed = true
    await this.#running
    const worker = this.#worker
    this.#worker = null
    if (worker === null) return
    const exited = new Promise((resolve) => worker.once('exit', resolve))
    worker.postMessage('close')
    await exited
  }

  #spawn(): Worker {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3')
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file: this.file, driver } })
    // Nothing the worker does should keep the process alive on its own.
    worker.unref()
    worker.on('error', (error) => this.onError(error.message))
    worker.on('exit', () => {
      if (this.#worker === worker) this.#worker = null
    })
    return worker
  }
}
