import type { AppendEntry, StorageAdapter } from '@tandem/storage'
import type { Logger } from './logger.js'

/**
 * Group commit. Everything added during one flush round goes to storage in one `append` (one
 * transaction); the callbacks registered in that round run only after it commits. Commits run one
 * after another, so a callback also knows every earlier round is stored.
 *
 * A failed commit is retried with backoff and its callbacks wait: nothing is acknowledged that is
 * not on disk, and no room unloads while its updates are unstored.
 */
export class PersistenceQueue {
  private entries: AppendEntry[] = []
  private callbacks: Array<() => void> = []
  private chain: Promise<void> = Promise.resolve()
  private pendingByDocument = new Map<string, number>()
  private failing = false
  private inFlight = 0

  constructor(
    private readonly storage: StorageAdapter,
    private readonly logger: Logger,
  ) {}

  add(document: string, update: Uint8Array): void {
    this.entries.push({ document, update })
    this.pendingByDocument.set(document, (this.pendingByDocument.get(document) ?? 0) + 1)
  }

  /** Runs `callback` once everything added so far is committed. */
  afterCommit(callback: () => void): void {
    this.callbacks.push(callback)
  }

  /** Commits this round. Resolves when it (and every earlier round) is stored. */
  flush(): Promise<void> {
    if (this.entries.length === 0 && this.callbacks.length === 0) return this.chain
    const entries = this.entries
    const callbacks = this.callbacks
    this.entries = []
    this.callbacks = []
    const run = async () => {
      await this.commit(entries)
      for (const entry of entries) {
        const left = (this.pendingByDocument.get(entry.document) ?? 1) - 1
        if (left === 0) this.pendingByDocument.delete(entry.document)
        else this.pendingByDocument.set(entry.document, left)
      }
      for (const callback of callbacks) {
        // One failing acknowledgement (a bug) must not cost the others theirs.
        try {
          callback()
        } catch (error) {
          this.logger.error({ err: error }, 'callback after commit failed')
        }
      }
    }
    // When no commit is in flight, start this one now rather than a microtask later: a synchronous
    // store (SQLite) then commits before the caller goes on to broadcast, so an update is on disk
    // before any other client sees it.
    this.inFlight++
    const done = () => {
      this.inFlight--
    }
    this.chain = (this.inFlight === 1 ? run() : this.chain.then(run)).then(done, done)
    return this.chain
  }

  /** Resolves once everything added so far is stored. */
  idle(): Promise<void> {
    return this.flush()
  }

  hasPending(document: string): boolean {
    return this.pendingByDocument.has(document)
  }

  /** False while commits are failing (readiness reports it). */
  get healthy(): boolean {
    return !this.failing
  }

  private async commit(entries: AppendEntry[]): Promise<void> {
    if (entries.length === 0) return
    for (let attempt = 0; ; attempt++) {
      try {
        await this.storage.append(entries)
        if (this.failing) this.logger.info('storage commits recovered')
        this.failing = false
        return
      } catch (error) {
        this.failing = true
        const delay = Math.min(100 * 2 ** attempt, 5_000)
        this.logger.error({ err: error, entries: entries.length, retryInMs: delay }, 'storage commit failed; retrying')
        await new Promise((resolve) => setTimeout(resolve, delay))
      }
    }
  }
}
