import { describe, expect, it } from 'vitest'
import { backoffDelay, checkBackoff } from './backoff.js'

describe('backoffDelay', () => {
  it('doubles the ceiling per attempt up to the cap, never below half of it', () => {
    const options = { baseMs: 100, capMs: 1_000 }
    expect(backoffDelay(0, options, () => 0)).toBe(50)
    expect(backoffDelay(0, options, () => 1)).toBe(100)
    expect(backoffDelay(3, options, () => 0)).toBe(400)
    expect(backoffDelay(3, options, () => 1)).toBe(800)
    expect(backoffDelay(10, options, () => 1)).toBe(1_000)
    expect(backoffDelay(10_000, options, () => 0.5)).toBe(750)
  })

  it('spreads a crowd: 1000 draws of the first retry cover the whole jitter window', () => {
    const delays = Array.from({ length: 1000 }, () => backoffDelay(0, { baseMs: 1_000, capMs: 10_000 }))
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(500)
    expect(Math.max(...delays)).toBeLessThanOrEqual(1_000)
    expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(400)
  })

  it('refuses a cap below the base', () => {
    expect(() => checkBackoff({ baseMs: 100, capMs: 50 })).toThrow(RangeError)
    expect(() => checkBackoff({ baseMs: 0 })).toThrow(RangeError)
    expect(() => checkBackoff({ baseMs: 100, capMs: 100 })).not.toThrow()
  })
})
