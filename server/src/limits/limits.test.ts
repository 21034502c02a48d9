import { describe, expect, it } from 'vitest'
import { admit, fillBuckets, type RateState } from './rate-limiter.js'
import { ConnectionLimiter } from './connection-limiter.js'

describe('inbound rate (two token buckets)', () => {
  const limits = { messagesPerSecond: 10, messageBurst: 5, bytesPerSecond: 1_000, bytesBurst: 500 }
  const fullRate = (now: number): RateState => {
    const rate = { messageTokens: 0, byteTokens: 0, refilledAt: 0 }
    fillBuckets(rate, limits, now)
    return rate
  }

  it('allows a burst of messages, then the rate, and keeps at most the burst', () => {
    let now = 0
    const rate = fullRate(now)
    for (let i = 0; i < 5; i++) expect(admit(rate, limits, 1, now)).toBe(true)
    expect(admit(rate, limits, 1, now)).toBe(false)
    now += 100 // one message token
    expect(admit(rate, limits, 1, now)).toBe(true)
    expect(admit(rate, limits, 1, now)).toBe(false)
    now += 10_000 // capped at the burst
    for (let i = 0; i < 5; i++) expect(admit(rate, limits, 1, now)).toBe(true)
    expect(admit(rate, limits, 1, now)).toBe(false)
  })

  it('counts bytes the same way: a burst, then bytesPerSecond', () => {
    let now = 0
    const rate = fullRate(now)
    expect(admit(rate, limits, 400, now)).toBe(true)
    expect(admit(rate, limits, 101, now)).toBe(false)
    now += 1 // one more byte token
    expect(admit(rate, limits, 101, now)).toBe(true)
    now += 10_000
    expect(admit(rate, limits, 500, now)).toBe(true)
  })

  it('refuses a message larger than what is left without spending anything', () => {
    const rate = fullRate(0)
    expect(admit(rate, limits, 600, 0)).toBe(false)
    expect(rate).toEqual({ messageTokens: 5, byteTokens: 500, refilledAt: 0 })
    expect(admit(rate, limits, 500, 0)).toBe(true)
  })
})

describe('ConnectionLimiter', () => {
  it('refuses beyond the per-address and total limits, and frees on release', () => {
    const limiter = new ConnectionLimiter({ maxConnections: 3, maxConnectionsPerIp: 2 })
    expect(limiter.acquire('a')).toBeNull()
    expect(limiter.acquire('a')).toBeNull()
    expect(limiter.acquire('a')?.code).toBe('TOO_MANY_CONNECTIONS_FROM_ADDRESS')
    expect(limiter.acquire('b')).toBeNull()
    expect(limiter.acquire('c')?.code).toBe('TOO_MANY_CONNECTIONS')
    limiter.release('a')
    expect(limiter.acquire('c')).toBeNull()
    expect(limiter.size).toBe(3)
  })
})
