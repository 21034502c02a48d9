export { admit, fillBuckets, type RateLimits, type RateState } from './rate-limiter.js'
export { ConnectionLimiter, type ConnectionLimits } from './connection-limiter.js'
export { checkOrigin } from './origin.js'
