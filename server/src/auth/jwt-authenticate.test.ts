import { generateKeyPairSync } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import { exportJWK, SignJWT, type JWK } from 'jose'
import { TandemError } from '@tandem/protocol'
import { createJwtAuthenticate } from './jwt-authenticate.js'
import { matchesDocument } from './document-patterns.js'
import { mintToken } from './mint-token.js'
import { selectProtocol, tokenFromRequest } from './token-source.js'

const SECRET = 'unit-test-secret-0123456789'
const request = (url = '/', headers: Record<string, string> = {}) => ({ url, headers }) as unknown as IncomingMessage

const refusal = async (promise: Promise<unknown> | unknown): Promise<string> => {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(TandemError)
    return `${(error as TandemError).code}: ${(error as TandemError).message}`
  }
  return 'accepted'
}

describe('createJwtAuthenticate', () => {
  const hs = createJwtAuthenticate({ keys: { kind: 'secret', secret: SECRET } })
  const ask = (token: string | null, documentName = 'team/notes') => hs({ documentName, token, request: request() })

  it('HS256: grants the access the token names; read when it names none', async () => {
    expect(await ask(await mintToken({ secret: SECRET, docs: ['team/*'], access: 'write', subject: 'ada' }))).toEqual({ user: 'ada', access: 'write' })
    const readOnly = await new SignJWT({ docs: ['team/notes'] }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET))
    expect(await ask(readOnly)).toMatchObject({ access: 'read' })
  })

  it('refuses no token, garbage, a bad signature, a bad access claim (401) and another document (403)', async () => {
    expect(await refusal(ask(null))).toMatch(/^UNAUTHORIZED/)
    expect(await refusal(ask('a.b.c'))).toMatch(/^UNAUTHORIZED/)
    expect(await refusal(ask(await mintToken({ secret: `${SECRET}!`, docs: ['**'], access: 'write' })))).toMatch(/bad signature/)
    const badAccess = await new SignJWT({ docs: ['**'], access: 'admin' }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET))
    expect(await refusal(ask(badAccess))).toMatch(/^UNAUTHORIZED/)
    expect(await refusal(ask(await mintToken({ secret: SECRET, docs: ['other/*'], access: 'write' })))).toMatch(/^FORBIDDEN/)
  })

  it('expiry: a small clock skew is tolerated, an expired token is not', async () => {
    const now = Math.floor(Date.now() / 1000)
    expect(await refusal(ask(await mintToken({ secret: SECRET, docs: ['**'], access: 'read', expiresIn: now - 2 })))).toBe('accepted')
    expect(await refusal(ask(await mintToken({ secret: SECRET, docs: ['**'], access: 'read', expiresIn: now - 60 })))).toMatch(/token expired/)
  })

  it('a PEM public key (ES256); an HS256 token "signed" with the public key text is refused (algorithm confusion)', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
    const es = createJwtAuthenticate({ keys: { kind: 'public-key', pem } })
    const good = await new SignJWT({ docs: ['d'], access: 'write' }).setProtectedHeader({ alg: 'ES256' }).sign(privateKey)
    expect(await es({ documentName: 'd', token: good, request: request() })).toMatchObject({ access: 'write' })
    const confused = await new SignJWT({ docs: ['d'], access: 'write' }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(pem))
    expect(await refusal(es({ documentName: 'd', token: confused, request: request() }))).toMatch(/^UNAUTHORIZED/)
  })

  it('a JWKS: the key is chosen by kid', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' }
    const auth = createJwtAuthenticate({ keys: { kind: 'jwks', jwks: { keys: [jwk] } } })
    const good = await new SignJWT({ docs: ['d'] }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(privateKey)
    expect(await auth({ documentName: 'd', token: good, request: request() })).toMatchObject({ access: 'read' })
    const unknownKid = await new SignJWT({ docs: ['d'] }).setProtectedHeader({ alg: 'RS256', kid: 'k2' }).sign(privateKey)
    expect(await refusal(auth({ documentName: 'd', token: unknownKid, request: request() }))).toMatch(/^UNAUTHORIZED/)
  })
})

describe('matchesDocument', () => {
  it('exact names, * within a segment, ** across segments; regexp characters are literal', () => {
    expect(matchesDocument(['a/b'], 'a/b')).toBe(true)
    expect(matchesDocument(['a/*'], 'a/b')).toBe(true)
    expect(matchesDocument(['a/*'], 'a/b/c')).toBe(false)
    expect(matchesDocument(['a/**'], 'a/b/c')).toBe(true)
    expect(matchesDocument(['**'], 'anything/at/all')).toBe(true)
    expect(matchesDocument(['a.b'], 'axb')).toBe(false)
    expect(matchesDocument(['a.*'], 'a.md')).toBe(true)
    expect(matchesDocument([], 'a')).toBe(false)
  })
})

describe('token sources', () => {
  it('reads ?token= first, then a tandem.token.* subprotocol', () => {
    expect(tokenFromRequest(request('/d?token=abc'))).toBe('abc')
    expect(tokenFromRequest(request('/d', { 'sec-websocket-protocol': 'tandem, tandem.token.xyz' }))).toBe('xyz')
    expect(tokenFromRequest(request('/d'))).toBeNull()
  })

  it('answers with an offered protocol, preferring one that does not carry the token', () => {
    expect(selectProtocol(new Set(['tandem.token.x', 'tandem']))).toBe('tandem')
    expect(selectProtocol(new Set(['tandem.token.x']))).toBe('tandem.token.x')
    expect(selectProtocol(new Set())).toBe(false)
  })
})
