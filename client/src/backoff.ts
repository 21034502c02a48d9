export interface BackoffOptions {
  /** Ceiling of the first retry's delay. */
  readonly baseMs?: number
  /** Largest delay, however many attempts failed. */
  readonly capMs?: number
}

export const DEFAULT_BACKOFF = { baseMs: 500, capMs: 30_000 } as const

/**
 * Exponential backoff with "equal jitter": attempt n waits a random time between half and all of
 * `min(cap, base × 2^n)`. The random half spreads a crowd of clients that lost the same server
 * (they must not all come back in the same instant); the fixed half keeps any one client from
 * retrying in a tight loop.
 */
export const backoffDelay = (attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number => {
  const baseMs = options.baseMs ?? DEFAULT_BACKOFF.baseMs
  const capMs = options.capMs ?? DEFAULT_BACKOFF.capMs
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30))
  return ceiling / 2 + random() * (ceiling / 2)
}

/** Checks backoff options once, at construction, with one precise error. */
export const checkBackoff = (options: BackoffOptions = {}): void => {
  const baseMs = options.baseMs ?? DEFAULT_BACKOFF.baseMs
  const capMs = options.capMs ?? DEFAULT_BACKOFF.capMs
  if (!(baseMs > 0) || !(capMs >= baseMs)) {
    throw new RangeError(`backoff needs 0 < baseMs <= capMs (got baseMs ${baseMs}, capMs ${capMs})`)
  }
}
