import { describe, expect, it } from 'vitest'
import { TokenBucket } from './token-bucket.js'
import { ConnectionLimiter } from './connection-limiter.js'

describe('TokenBucket', () => {
  it('allows a burst, then the rate', () => {
    let now = 0
    const bucket = new TokenBucket(10, 5, () => now)
    for (let i = 0; i < 5; i++) expect(bucket.take()).toBe(true)
    expect(bucket.take()).toBe(false)
    now += 100 // one token
    expect(bucket.take()).toBe(true)
    expect(bucket.take()).toBe(false)
    now += 10_000 // capped at the burst
    for (let i = 0; i < 5; i++) expect(bucket.take()).toBe(true)
    expect(bucket.take()).toBe(false)
  })

  it('refuses a take larger than what is left without spending it', () => {
    const bucket = new TokenBucket(1, 100, () => 0)
    expect(bucket.take(150)).toBe(false)
    expect(bucket.take(100)).toBe(true)
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
