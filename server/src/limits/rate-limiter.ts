import { TokenBucket } from './token-bucket.js'

export interface RateLimits {
  readonly messagesPerSecond: number
  readonly messageBurst: number
  readonly bytesPerSecond: number
  readonly bytesBurst: number
}

/** Per-connection inbound rate: one bucket for messages, one for bytes. */
export class RateLimiter {
  private readonly messages: TokenBucket
  private readonly bytes: TokenBucket

  constructor(limits: RateLimits, now: () => number = Date.now) {
    this.messages = new TokenBucket(limits.messagesPerSecond, limits.messageBurst, now)
    this.bytes = new TokenBucket(limits.bytesPerSecond, limits.bytesBurst, now)
  }

  /** Whether a message of `byteLength` bytes is within the rate (and counts it if so). */
  admit(byteLength: number): boolean {
    return this.messages.take(1) && this.bytes.take(byteLength)
  }
}
