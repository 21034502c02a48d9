/**
 * Waiting with deadlines. Tests never sleep to synchronise: they wait for an event or for a
 * condition to hold, and fail with a message when the deadline passes.
 */
export const eventually = <T>(check: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> =>
  eventuallyAsync(async () => check(), what, timeoutMs)

/** Resolves with the arguments of the next `event`, or rejects at the deadline. */
export const nextEvent = <A extends unknown[]>(
  emitter: { once(event: string, listener: (...args: A) => void): unknown; off?(event: string, listener: (...args: A) => void): unknown },
  event: string,
  timeoutMs = 10_000,
): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const listener = (...args: A) => {
      clearTimeout(timer)
      resolve(args)
    }
    const timer = setTimeout(() => {
      emitter.off?.(event, listener)
      reject(new Error(`timed out after ${timeoutMs} ms waiting for '${event}'`))
    }, timeoutMs)
    emitter.once(event, listener)
  })

/** A seeded PRNG (mulberry32, shared with the storage contract): tests print the seed so a failure can be replayed. */
export { seededRandom } from '@tandem/storage'

/** `eventually` for a check that has to await (a storage query): polls until it resolves truthy. */
export const eventuallyAsync = async <T>(
  check: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 10_000,
  pollMs = 10,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
    } catch (error) {
      lastError = error
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`)
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs))
  }
}
