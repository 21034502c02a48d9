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
})
