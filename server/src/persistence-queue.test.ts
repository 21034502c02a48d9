import { describe, expect, it } from 'vitest'
import { pino } from 'pino'
import type { AppendEntry, StorageAdapter } from '@tandem/storage'
import { PersistenceQueue } from './persistence-queue.js'

const silent = pino({ level: 'silent' })

interface Commit {
  readonly entries: readonly AppendEntry[]
  resolve(): void
  reject(error: Error): void
}

/** A store whose appends complete when the test says so. Only `append` is used by the queue. */
const controlledStorage = () => {
  const commits: Commit[] = []
  const storage = {
    append: (entries: readonly AppendEntry[]) =>
      new Promise<void>((resolve, reject) => commits.push({ entries: [...entries], resolve, reject })),
  } as unknown as StorageAdapter
  return { storage, commits }
}

/**
 * A store with `appendNow`, like SqliteStorage: `written` holds what each call wrote (at once), and
 * `syncs` the durability promise of each, settled when the test says so. `append` (the slow path a
 * failure falls back to) goes to `appends`.
 */
const twoStepStorage = () => {
  const written: AppendEntry[][] = []
  const syncs: Array<{ resolve(): void; reject(error: Error): void }> = []
  const { storage: slow, commits: appends } = controlledStorage()
  let failWrites = 0
  const storage = {
    append: slow.append,
    appendNow: (entries: readonly AppendEntry[]) => {
      if (failWrites > 0) {
        failWrites--
        throw new Error('SQLITE_FULL')
      }
      written.push([...entries])
      return new Promise<void>((resolve, reject) => syncs.push({ resolve, reject }))
    },
  } as unknown as StorageAdapter
  return { storage, written, syncs, appends, failNextWrite: () => failWrites++ }
}

const bytes = (n: number) => new Uint8Array([n])
const until = async (condition: () => boolean, what: string) => {
  const deadline = Date.now() + 5_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('PersistenceQueue', () => {
  it('commits one round in one append and runs its callbacks only after the commit', async () => {
    const { storage, commits } = controlledStorage()
    const queue = new PersistenceQueue(storage, silent)
    const calls: string[] = []
    queue.add('a', bytes(1))
    queue.add('b', bytes(2))
    queue.afterCommit(() => calls.push('ack'))
    const flushed = queue.flush()
    expect(commits).toHaveLength(1)
    expect(commits[0]!.entries).toEqual([
      { document: 'a', update: bytes(1) },
      { document: 'b', update: bytes(2) },
    ])
    expect(queue.hasPending('a')).toBe(true)
    await new Promise((resolve) => setImmediate(resolve))
    expect(calls).toEqual([])
    commits[0]!.resolve()
    await flushed
    expect(calls).toEqual(['ack'])
    expect(queue.hasPending('a')).toBe(false)
    expect(queue.hasPending('b')).toBe(false)
  })

  it('starts the append synchronously when nothing is in flight (commit before broadcast)', () => {
    let appended = 0
    const storage = {
      // Like SqliteStorage: an async method whose work happens before its first await.
      append: async (entries: readonly AppendEntry[]) => {
        appended += entries.length
      },
    } as unknown as StorageAdapter
    const queue = new PersistenceQueue(storage, silent)
    queue.add('a', bytes(1))
    void queue.flush()
    expect(appended).toBe(1)
  })

  it('commits rounds one after another, in order, and runs callbacks in order', async () => {
    const { storage, commits } = controlledStorage()
    const queue = new PersistenceQueue(storage, silent)
    const calls: number[] = []
    queue.add('a', bytes(1))
    queue.afterCommit(() => calls.push(1))
    const first = queue.flush()
    queue.add('a', bytes(2))
    queue.afterCommit(() => calls.push(2))
    const second = queue.flush()
    // A round with only a callback still waits for every earlier round.
    queue.afterCommit(() => calls.push(3))
    const third = queue.flush()
    await new Promise((resolve) => setImmediate(resolve))
    // The second append waits for the first to finish.
    expect(commits).toHaveLength(1)
    commits[0]!.resolve()
    await first
    expect(calls).toEqual([1])
    await until(() => commits.length === 2, 'the second append')
    expect(commits[1]!.entries).toEqual([{ document: 'a', update: bytes(2) }])
    expect(queue.hasPending('a')).toBe(true)
    commits[1]!.resolve()
    await Promise.all([second, third])
    expect(calls).toEqual([1, 2, 3])
    expect(queue.hasPending('a')).toBe(false)
  })

  it('retries a failing commit with the same entries and acknowledges nothing until it lands', async () => {
    const { storage, commits } = controlledStorage()
    const queue = new PersistenceQueue(storage, silent)
    let acked = 0
    queue.add('a', bytes(1))
    queue.afterCommit(() => acked++)
    const flushed = queue.flush()
    commits[0]!.reject(new Error('disk full'))
    await until(() => !queue.healthy, 'the queue to report unhealthy')
    // A later round queues behind the failing one.
    queue.add('a', bytes(2))
    queue.afterCommit(() => acked++)
    const later = queue.flush()
    await until(() => commits.length === 2, 'the first retry')
    expect(commits[1]!.entries).toEqual(commits[0]!.entries)
    commits[1]!.reject(new Error('still full'))
    await until(() => commits.length === 3, 'the second retry')
    expect(acked).toBe(0)
    expect(queue.hasPending('a')).toBe(true)
    commits[2]!.resolve()
    await flushed
    expect(acked).toBe(1)
    expect(queue.healthy).toBe(true)
    await until(() => commits.length === 4, 'the later round')
    expect(commits[3]!.entries).toEqual([{ document: 'a', update: bytes(2) }])
    commits[3]!.resolve()
    await later
    expect(acked).toBe(2)
    expect(queue.hasPending('a')).toBe(false)
  })

  it('runs every callback of a round even when one throws', async () => {
    const { storage, commits } = controlledStorage()
    const queue = new PersistenceQueue(storage, silent)
    const calls: string[] = []
    queue.add('a', bytes(1))
    queue.afterCommit(() => calls.push('first'))
    queue.afterCommit(() => {
      throw new Error('a bug in one acknowledgement')
    })
    queue.afterCommit(() => calls.push('third'))
    const flushed = queue.flush()
    commits[0]!.resolve()
    await flushed
    expect(calls).toEqual(['first', 'third'])
  })

  it('idle() resolves only once everything added so far is stored', async () => {
    const { storage, commits } = controlledStorage()
    const queue = new PersistenceQueue(storage, silent)
    queue.add('a', bytes(1))
    let idle = false
    const waiting = queue.idle().then(() => {
      idle = true
    })
    await new Promise((resolve) => setImmediate(resolve))
    expect(idle).toBe(false)
    commits[0]!.resolve()
    await waiting
    expect(idle).toBe(true)
  })

  describe('with a store that writes first and makes durable after (appendNow)', () => {
    it('writes each round inside flush, even while an earlier one is being made durable, and acknowledges in order once durable', async () => {
      const { storage, written, syncs, appends } = twoStepStorage()
      const queue = new PersistenceQueue(storage, silent)
      const calls: number[] = []
      queue.add('a', bytes(1))
      queue.afterCommit(() => calls.push(1))
      const first = queue.flush()
      expect(written).toEqual([[{ document: 'a', update: bytes(1) }]])
      queue.add('a', bytes(2))
      queue.afterCommit(() => calls.push(2))
      const second = queue.flush()
      // Written at once, not queued behind the first round's fsync: a broadcast may follow.
      expect(written).toHaveLength(2)
      await new Promise((resolve) => setImmediate(resolve))
      expect(calls).toEqual([])
      // The second round's sync lands first; its callback still waits for the first round.
      syncs[1]!.resolve()
      await new Promise((resolve) => setImmediate(resolve))
      expect(calls).toEqual([])
      expect(queue.hasPending('a')).toBe(true)
      syncs[0]!.resolve()
      await Promise.all([first, second])
      expect(calls).toEqual([1, 2])
      expect(queue.hasPending('a')).toBe(false)
      expect(appends).toHaveLength(0)
    })

    it('appends a round again, durably, when making it durable failed, and acknowledges only then', async () => {
      const { storage, written, syncs, appends } = twoStepStorage()
      const queue = new PersistenceQueue(storage, silent)
      let acked = 0
      queue.add('a', bytes(1))
      queue.afterCommit(() => acked++)
      const flushed = queue.flush()
      syncs[0]!.reject(new Error('EIO'))
      await until(() => !queue.healthy, 'the queue to report unhealthy')
      await until(() => appends.length === 1, 'the append that replaces the failed sync')
      expect(appends[0]!.entries).toEqual(written[0])
      expect(acked).toBe(0)
      appends[0]!.resolve()
      await flushed
      expect(acked).toBe(1)
      expect(queue.healthy).toBe(true)
    })

    it('queues later rounds behind a write that failed, and writes them in order once it lands', async () => {
      const { storage, written, appends, failNextWrite } = twoStepStorage()
      const queue = new PersistenceQueue(storage, silent)
      const calls: number[] = []
      failNextWrite()
      queue.add('a', bytes(1))
      queue.afterCommit(() => calls.push(1))
      const first = queue.flush()
      expect(written).toHaveLength(0)
      expect(queue.healthy).toBe(false)
      queue.add('a', bytes(2))
      queue.afterCommit(() => calls.push(2))
      const second = queue.flush()
      // Not written ahead of the round that failed.
      expect(written).toHaveLength(0)
      await until(() => appends.length === 1, 'the retry of the failed write')
      expect(appends[0]!.entries).toEqual([{ document: 'a', update: bytes(1) }])
      appends[0]!.resolve()
      await first
      await until(() => appends.length === 2, 'the queued round')
      expect(appends[1]!.entries).toEqual([{ document: 'a', update: bytes(2) }])
      appends[1]!.resolve()
      await second
      expect(calls).toEqual([1, 2])
      // Nothing is queued any more: the next round is written inside flush again.
      queue.add('a', bytes(3))
      void queue.flush()
      expect(written).toEqual([[{ document: 'a', update: bytes(3) }]])
    })
  })
})
