import { open, type FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'

/**
 * The shortest time between the starts of two fsyncs, so at most 100 a second. An fsync costs the
 * kernel 0.2-0.5 ms of CPU here whatever it flushes; started back to back under a stream of writes
 * they would take a core's worth of that, and on a busy single core the event loop pays (at 5 ms,
 * 6.6% of the server's busy time under S2's multiplexed load went to fsyncs; at 10 ms, 3.1%).
 * Spaced, each covers every write of its interval, and an acknowledgement waits at most this long
 * more. A lone write (nothing synced for this long) is fsync'd right after the task that made it.
 */
export const MIN_SYNC_INTERVAL_MS = 10

/**
 * Group fsync of a SQLite write-ahead log, off the event loop.
 *
 * With durability 'full' the connection runs with `synchronous=NORMAL`: a commit is written to the
 * WAL (a killed process keeps it) but not fsync'd. This class then fsyncs the WAL in libuv's thread
 * pool. The WAL is a log, so one fsync makes every frame written before it durable: each `request`
 * made while an fsync runs is answered by the next one, which starts when the running one ends. That
 * is `synchronous=FULL`'s guarantee for every commit, paid once per group of commits and without
 * blocking the event loop. Starts are spaced by at least `minIntervalMs`, so a busy store makes
 * fewer, bigger groups. (SQLite itself fsyncs the WAL before every checkpoint, and the database file
 * after it, under `synchronous=NORMAL` too.)
 */
export class WalSync {
  #handle: Promise<FileHandle> | null = null
  /** The fsync running now, if any. */
  #running: Promise<void> | null = null
  /** The fsync that starts when the running one ends; it covers every write made until it starts. */
  #next: Promise<void> | null = null
  #count = 0
  #lastStart = Number.NEGATIVE_INFINITY

  /**
   * @param walFile the `-wal` file next to the database; it exists once the database is in WAL mode.
   * @param minIntervalMs the shortest time between the starts of two fsyncs.
   */
  constructor(
    private readonly walFile: string,
    private readonly minIntervalMs = MIN_SYNC_INTERVAL_MS,
  ) {}

  /** How many fsyncs have completed. */
  get count(): number {
    return this.#count
  }

  /** Resolves once everything written to the WAL before this call is on disk; rejects if the fsync failed. */
  request(): Promise<void> {
    if (this.#next !== null) return this.#next
    if (this.#running === null && this.#sinceStart() >= this.minIntervalMs) {
      // Not now but after this task and its I/O: the thread-pool thread that runs the fsync wakes
      // at once and, on a busy single core, preempts the event loop for the kernel's part of the
      // fsync (about 1 ms in a VM here), and the caller is about to broadcast what it just wrote.
      // Writes made meanwhile share this fsync.
      const next = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.#next = null
        return this.#start()
      })
      this.#next = next
      return next
    }
    const next = (this.#running ?? Promise.resolve())
      .then(settled, settled)
      .then(async () => {
        const wait = this.minIntervalMs - this.#sinceStart()
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
        this.#next = null
        return this.#start()
      })
    this.#next = next
    return next
  }

  /** Waits for the fsyncs under way, then releases the file. */
  async close(): Promise<void> {
    await Promise.allSettled([this.#running, this.#next])
    const handle = this.#handle
    this.#handle = null
    if (handle !== null) await (await handle.catch(() => null))?.close()
  }

  #sinceStart(): number {
    return performance.now() - this.#lastStart
  }

  #start(): Promise<void> {
    this.#lastStart = performance.now()
    const run = this.#sync()
    this.#running = run
    const clear = () => {
      if (this.#running === run) this.#running = null
    }
    run.then(clear, clear)
    return run
  }

  async #sync(): Promise<void> {
    this.#handle ??= this.#open().catch((error: unknown) => {
      this.#handle = null
      throw error
    })
    await (await this.#handle).sync()
    this.#count++
  }

  async #open(): Promise<FileHandle> {
    const handle = await open(this.walFile, 'r+')
    // The WAL's directory entry must be durable too. Once is enough: SQLite keeps the file (it
    // truncates and rewrites it, never replaces it) while a connection has the database open.
    const directory = await open(dirname(this.walFile), 'r')
    try {
      await directory.sync()
    } finally {
      await directory.close()
    }
    return handle
  }
}

const settled = (): void => {}
