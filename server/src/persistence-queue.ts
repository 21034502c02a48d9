import type { AppendEntry, StorageAdapter } from '@tandem/storage'
import type { Logger } from './logger.js'

/**
 * Group commit. Everything added during one flush round goes to storage in one append (one
 * transaction); the callbacks registered in that round run only after it is durable. Rounds are
 * written in order and their callbacks run in order, so a callback also knows every earlier round
 * is stored.
 *
 * When nothing earlier is waiting to be written, a round is written inside `flush()` itself: with a
 * store that has `appendNow` (SQLite) the rows are in the database file before the caller goes on to
 * broadcast, and the fsync that makes them durable runs afterwards, off the event loop, shared by
 * every round written meanwhile. So an update any client has seen survives a killed process, and an
 * acknowledged one survives a power cut.
 *
 * A failed write is retried with backoff and its callbacks wait: nothing is acknowledged that is
 * not durable, and no room unloads while its updates are unstored.
 */
export class PersistenceQueue {
  private entries: AppendEntry[] = []
  private callbacks: Array<() => void> = []
  /** Resolves when every round so far is durable and its callbacks have run. Never rejects. */
  private chain: Promise<void> = Promise.resolve()
  /** Resolves when every round so far is written (not necessarily durable). */
  private written: Promise<void> = Promise.resolve()
  /** Rounds not yet written: while there are any, later rounds queue behind them, in order. */
  private unwritten = 0
  private pendingByDocument = new Map<string, number>()
  private failing = false

  constructor(
    private readonly storage: StorageAdapter,
    private readonly logger: Logger,
  ) {}

  add(document: string, update: Uint8Array): void {
    this.entries.push({ document, update })
    this.pendingByDocument.set(document, (this.pendingByDocument.get(document) ?? 0) + 1)
  }

  /** Runs `callback` once everything added so far is durable. */
  afterCommit(callback: () => void): void {
    this.callbacks.push(callback)
  }

  /** Writes this round (now, if nothing is ahead of it). Resolves when it and every earlier round are durable. */
  flush(): Promise<void> {
    if (this.entries.length === 0 && this.callbacks.length === 0) return this.chain
    const entries = this.entries
    const callbacks = this.callbacks
    this.entries = []
    this.callbacks = []
    const durable = this.store(entries)
    this.chain = Promise.all([this.chain, durable]).then(() => this.finish(entries, callbacks))
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

  /** Starts storing one round; resolves once it is durable. Never rejects: failures are retried. */
  private store(entries: AppendEntry[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve()
    if (this.unwritten > 0) return this.queueWrite(this.written.then(() => this.commit(entries)))
    const { storage } = this
    if (storage.appendNow === undefined) {
      // An adapter without a separate write: a synchronous one (or one that writes before its first
      // await) has written when `append` returns; the round counts as written once it resolves.
      return this.queueWrite(attempt(() => storage.append(entries)).catch((error: unknown) => this.commit(entries, error)))
    }
    try {
      // Written now; `appendNow` resolves once durable. If making it durable failed, write it again
      // the slow way (a duplicate row is harmless: applying a Yjs update twice changes nothing).
      return storage.appendNow(entries).catch((error: unknown) => this.commit(entries, error))
    } catch (error) {
      return this.queueWrite(this.commit(entries, error))
    }
  }

  /** Counts a round as unwritten until `durable` resolves; later rounds queue behind it. */
  private queueWrite(durable: Promise<void>): Promise<void> {
    this.unwritten++
    this.written = durable.then(() => {
      this.unwritten--
    })
    return durable
  }

  private finish(entries: readonly AppendEntry[], callbacks: ReadonlyArray<() => void>): void {
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

  /** Appends (durably) until it succeeds; `failed` is the error of an attempt already made. */
  private async commit(entries: AppendEntry[], failed?: unknown): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (failed !== undefined) {
        this.failing = true
        const delay = Math.min(100 * 2 ** attempt, 5_000)
        this.logger.error({ err: failed, entries: entries.length, retryInMs: delay }, 'storage commit failed; retrying')
        await new Promise((resolve) => setTimeout(resolve, delay))
      }
      try {
        await this.storage.append(entries)
        if (this.failing) this.logger.info('storage commits recovered')
        this.failing = false
        return
      } catch (error) {
        failed = error
      }
    }
  }
}

/** Runs `write`; a synchronous throw becomes a rejection, like an async function's. */
const attempt = (write: () => Promise<void>): Promise<void> => {
  try {
    return write()
  } catch (error) {
    return Promise.reject(error)
  }
}
