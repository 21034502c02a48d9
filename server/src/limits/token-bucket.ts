/**
 * A token bucket: `ratePerSecond` tokens flow in, at most `burst` are kept. Refilled lazily on
 * each take (no timers), so an idle connection costs nothing.
 */
export class TokenBucket {
  private tokens: number
  private refilledAt: number

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst
    this.refilledAt = now()
  }

  /** Takes `n` tokens if there are that many; returns whether it did. */
  take(n = 1): boolean {
    const now = this.now()
    if (now > this.refilledAt) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) * this.ratePerSecond) / 1000)
      this.refilledAt = now
    }
    if (this.tokens < n) return false
    this.tokens -= n
    return true
  }
}
