export interface RateLimits {
  readonly messagesPerSecond: number
  readonly messageBurst: number
  readonly bytesPerSecond: number
  readonly bytesBurst: number
}

/**
 * A connection's inbound rate: two token buckets, one for messages and one for bytes, as three
 * plain numbers the connection keeps on itself (at 10,000 idle connections every object kept per
 * connection shows in the server's memory). Tokens flow in at the rate per second and at most the
 * burst is kept; both refill lazily on each message (no timers), so an idle connection costs
 * nothing.
 */
export interface RateState {
  messageTokens: number
  byteTokens: number
  refilledAt: number
}

/** Fills both buckets: a new connection may send a whole burst at once. */
export const fillBuckets = (state: RateState, limits: RateLimits, now: number): void => {
  state.messageTokens = limits.messageBurst
  state.byteTokens = limits.bytesBurst
  state.refilledAt = now
}

/**
 * Whether a message of `byteLength` bytes is within the rate; if so it is counted (one message
 * token, `byteLength` byte tokens). A refused message spends nothing.
 */
export const admit = (state: RateState, limits: RateLimits, byteLength: number, now: number): boolean => {
  const elapsed = now - state.refilledAt
  if (elapsed > 0) {
    state.messageTokens = Math.min(limits.messageBurst, state.messageTokens + (elapsed * limits.messagesPerSecond) / 1000)
    state.byteTokens = Math.min(limits.bytesBurst, state.byteTokens + (elapsed * limits.bytesPerSecond) / 1000)
    state.refilledAt = now
  }
  if (state.messageTokens < 1 || state.byteTokens < byteLength) return false
  state.messageTokens -= 1
  state.byteTokens -= byteLength
  return true
}
