import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import { clientAddress } from './client-address.js'

const request = (remoteAddress: string, forwarded?: string | string[]): IncomingMessage =>
  ({ socket: { remoteAddress }, headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded } }) as unknown as IncomingMessage

describe('clientAddress', () => {
  it('is the socket address unless the proxy is trusted', () => {
    expect(clientAddress(request('10.0.0.1', '203.0.113.7'), false)).toBe('10.0.0.1')
  })

  it('behind a trusted proxy, is the entry the proxy appended (the last), not what the client claimed', () => {
    expect(clientAddress(request('10.0.0.1', '198.51.100.1, 203.0.113.7'), true)).toBe('203.0.113.7')
    expect(clientAddress(request('10.0.0.1', ['198.51.100.1', '203.0.113.9']), true)).toBe('203.0.113.9')
  })

  it('falls back to the socket address when the header is missing or empty', () => {
    expect(clientAddress(request('10.0.0.1'), true)).toBe('10.0.0.1')
    expect(clientAddress(request('10.0.0.1', ' '), true)).toBe('10.0.0.1')
  })
})
