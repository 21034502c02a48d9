import { describe, expect, it } from 'vitest'
import { TandemError } from './errors.js'
import { decodeFrame, encodeFrame, frameInner, documentNameOf, type MultiplexedFrame } from './multiplexed.js'
import { encodeMessage } from './y-websocket.js'

const bytes = (...values: number[]) => new Uint8Array(values)
const ascii = (text: string) => [...new TextEncoder().encode(text)]

describe('multiplexed codec', () => {
  // Expected bytes written out from @hocuspocus/provider 4.8.0's OutgoingMessages and
  // @hocuspocus/server 4.7.0's OutgoingMessage; test/interop checks the same against the live provider.
  const cases: Array<[string, MultiplexedFrame, Uint8Array]> = [
    ['ping', { type: 'ping' }, bytes(9)],
    ['pong', { type: 'pong' }, bytes(10)],
    ['sync step 1', { type: 'document', address: 'd', message: { type: 'sync-step1', stateVector: bytes(0) } }, bytes(1, ...ascii('d'), 0, 0, 1, 0)],
    ['sync step 2', { type: 'document', address: 'd', message: { type: 'sync-step2', update: bytes(0, 0) } }, bytes(1, ...ascii('d'), 0, 1, 2, 0, 0)],
    ['update', { type: 'document', address: 'd', message: { type: 'sync-update', update: bytes(7) } }, bytes(1, ...ascii('d'), 0, 2, 1, 7)],
    ['sync reply', { type: 'document', address: 'd', message: { type: 'sync-reply', sync: { type: 'sync-step1', stateVector: bytes(0) } } }, bytes(1, ...ascii('d'), 4, 0, 1, 0)],
    ['awareness', { type: 'document', address: 'd', message: { type: 'awareness', update: bytes(0) } }, bytes(1, ...ascii('d'), 1, 1, 0)],
    ['query awareness', { type: 'document', address: 'd', message: { type: 'query-awareness' } }, bytes(1, ...ascii('d'), 3)],
    [
      'auth token with provider version',
      { type: 'document', address: 'd', message: { type: 'auth-token', token: 'tk', version: '4.8.0' } },
      bytes(1, ...ascii('d'), 2, 0, 2, ...ascii('tk'), 5, ...ascii('4.8.0')),
    ],
    ['auth token without version (provider 2.x/3.x)', { type: 'document', address: 'd', message: { type: 'auth-token', token: '', version: null } }, bytes(1, ...ascii('d'), 2, 0, 0)],
    ['token request', { type: 'document', address: 'd', message: { type: 'auth-token-request' } }, bytes(1, ...ascii('d'), 2, 0)],
    ['permission denied', { type: 'document', address: 'd', message: { type: 'auth-permission-denied', reason: 'no' } }, bytes(1, ...ascii('d'), 2, 1, 2, ...ascii('no'))],
    ['authenticated readonly', { type: 'document', address: 'd', message: { type: 'auth-authenticated', scope: 'readonly' } }, bytes(1, ...ascii('d'), 2, 2, 8, ...ascii('readonly'))],
    ['authenticated read-write', { type: 'document', address: 'd', message: { type: 'auth-authenticated', scope: 'read-write' } }, bytes(1, ...ascii('d'), 2, 2, 10, ...ascii('read-write'))],
    ['stateless', { type: 'document', address: 'd', message: { type: 'stateless', payload: 'hi' } }, bytes(1, ...ascii('d'), 5, 2, ...ascii('hi'))],
    ['broadcast stateless', { type: 'document', address: 'd', message: { type: 'broadcast-stateless', payload: '' } }, bytes(1, ...ascii('d'), 6, 0)],
    ['close from a client', { type: 'document', address: 'd', message: { type: 'close', reason: null } }, bytes(1, ...ascii('d'), 7)],
    ['close from the server', { type: 'document', address: 'd', message: { type: 'close', reason: 'bye' } }, bytes(1, ...ascii('d'), 7, 3, ...ascii('bye'))],
    ['sync status applied', { type: 'document', address: 'd', message: { type: 'sync-status', applied: true } }, bytes(1, ...ascii('d'), 8, 1)],
    ['sync status refused', { type: 'document', address: 'd', message: { type: 'sync-status', applied: false } }, bytes(1, ...ascii('d'), 8, 0)],
    ['session-aware address', { type: 'document', address: 'd\0s1', message: { type: 'query-awareness' } }, bytes(4, ...ascii('d'), 0, ...ascii('s1'), 3)],
  ]

  it.each(cases)('%s encodes and decodes byte for byte', (_name, frame, wire) => {
    expect(encodeFrame(frame)).toEqual(wire)
    expect(decodeFrame(wire)).toEqual(frame)
  })

  it('frames an encoded y-protocols message with one prefix', () => {
    const inner = encodeMessage({ type: 'sync-update', update: bytes(1, 2) })
    expect(frameInner('doc', inner)).toEqual(encodeFrame({ type: 'document', address: 'doc', message: { type: 'sync-update', update: bytes(1, 2) } }))
  })

  it('takes the document name out of a session-aware address', () => {
    expect(documentNameOf('a/b\0xyz')).toBe('a/b')
    expect(documentNameOf('a/b')).toBe('a/b')
  })

  const refusals: Array<[string, Uint8Array, string]> = [
    ['an empty frame', bytes(), 'MALFORMED_MESSAGE'],
    ['an address longer than the frame', bytes(9, 1), 'MALFORMED_MESSAGE'],
    ['an unknown type', bytes(1, ...ascii('d'), 11), 'UNKNOWN_MESSAGE_TYPE'],
    ['an unknown auth sub-type', bytes(1, ...ascii('d'), 2, 3), 'UNKNOWN_MESSAGE_TYPE'],
    ['an unknown scope', bytes(1, ...ascii('d'), 2, 2, 1, ...ascii('x')), 'MALFORMED_MESSAGE'],
    ['trailing bytes', bytes(1, ...ascii('d'), 3, 0), 'MALFORMED_MESSAGE'],
    ['a two-byte ping', bytes(9, 9), 'MALFORMED_MESSAGE'],
    ['a truncated sync status', bytes(1, ...ascii('d'), 8), 'MALFORMED_MESSAGE'],
  ]

  it.each(refusals)('refuses %s', (_name, wire, code) => {
    let caught: unknown
    try {
      decodeFrame(wire)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(TandemError)
    expect((caught as TandemError).code).toBe(code)
  })

  it('refuses a payload over the limit before reading it', () => {
    const wire = encodeFrame({ type: 'document', address: 'd', message: { type: 'stateless', payload: 'x'.repeat(100) } })
    expect(() => decodeFrame(wire, { maxPayloadBytes: 10 })).toThrow(TandemError)
  })
})
