export { TokenBucket } from './token-bucket.js'
export { RateLimiter, type RateLimits } from './rate-limiter.js'
export { ConnectionLimiter, type ConnectionLimits } from './connection-limiter.js'
export { checkOrigin } from './origin.js'
