import { createPublicKey, type KeyObject } from 'node:crypto'
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose'
import { TandemError } from '@tandem/protocol'
import type { Access, Authenticate } from '../authenticate.js'
import { matchesDocument } from './document-patterns.js'

/** Where the verification keys come from. */
export type VerificationKeys =
  | { readonly kind: 'secret'; readonly secret: string }
  | { readonly kind: 'public-key'; readonly pem: string }
  | { readonly kind: 'jwks'; readonly jwks: JSONWebKeySet }

export interface JwtAuthOptions {
  readonly keys: VerificationKeys
  /** Seconds of clock skew tolerated on exp/nbf. */
  readonly clockToleranceSeconds?: number
}

/**
 * The claims Tandem reads. `docs`: exact names or patterns (document-patterns.ts);
 * `access`: `read` or `write` (absent means `read`: least privilege). `sub` names the user.
 */
export interface TandemClaims extends JWTPayload {
  docs?: string[] | string
  access?: Access
}

/**
 * An `Authenticate` that verifies JWTs with jose: HS256 with a shared secret, or RS/PS/ES/EdDSA
 * with a PEM public key or a JWKS file. A missing, malformed, expired or badly signed token is
 * UNAUTHORIZED (401 / 4401); a valid token that does not name the document is FORBIDDEN (403 / 4403).
 */
export const createJwtAuthenticate = (options: JwtAuthOptions): Authenticate => {
  const verify = verifier(options.keys)
  const clockTolerance = options.clockToleranceSeconds ?? 5
  return async ({ documentName, token }) => {
    if (token === null || token === '') throw new TandemError('UNAUTHORIZED', 'no token')
    let payload: TandemClaims
    try {
      payload = (await verify(token, clockTolerance)).payload as TandemClaims
    } catch (error) {
      throw new TandemError('UNAUTHORIZED', describe(error))
    }
    const docs = typeof payload.docs === 'string' ? [payload.docs] : payload.docs
    if (!Array.isArray(docs) || !docs.every((d) => typeof d === 'string')) {
      throw new TandemError('UNAUTHORIZED', 'token has no docs claim')
    }
    if (payload.access !== undefined && payload.access !== 'read' && payload.access !== 'write') {
      throw new TandemError('UNAUTHORIZED', 'access claim must be read or write')
    }
    if (!matchesDocument(docs, documentName)) throw new TandemError('FORBIDDEN', 'token does not name this document')
    return { user: payload.sub ?? null, access: payload.access ?? 'read' }
  }
}

type Verify = (token: string, clockTolerance: number) => Promise<{ payload: JWTPayload }>

const verifier = (keys: VerificationKeys): Verify => {
  switch (keys.kind) {
    case 'secret': {
      const secret = new TextEncoder().encode(keys.secret)
      return (token, clockTolerance) => jwtVerify(token, secret, { algorithms: ['HS256'], clockTolerance })
    }
    case 'public-key': {
      const key = createPublicKey(keys.pem)
      const algorithms = algorithmsFor(key)
      return (token, clockTolerance) => jwtVerify(token, key, { algorithms, clockTolerance })
    }
    case 'jwks': {
      const jwks = createLocalJWKSet(keys.jwks)
      // Asymmetric only: a JWKS with an HMAC key would let anyone who can read it sign tokens.
      const algorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']
      return (token, clockTolerance) => jwtVerify(token, jwks, { algorithms, clockTolerance })
    }
  }
}

/** Pins the algorithms to the key's type, so a token cannot pick a weaker or confused one. */
const algorithmsFor = (key: KeyObject): string[] => {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']
    case 'rsa-pss':
      return ['PS256', 'PS384', 'PS512']
    case 'ec':
      return ['ES256', 'ES384', 'ES512']
    case 'ed25519':
      return ['EdDSA', 'Ed25519']
    default:
      throw new Error(`unsupported public key type ${String(key.asymmetricKeyType)}`)
  }
}

/** A short reason for the log and the close reason; never the token. */
const describe = (error: unknown): string => {
  if (error instanceof errors.JWTExpired) return 'token expired'
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'bad signature'
  if (error instanceof errors.JWTClaimValidationFailed) return `claim ${error.claim} invalid`
  if (error instanceof errors.JOSEAlgNotAllowed) return 'algorithm not allowed'
  if (error instanceof errors.JWKSNoMatchingKey) return 'no matching key'
  return 'malformed token'
}
