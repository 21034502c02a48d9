export { TandemSocket, type TandemSocketOptions, type TandemSocketEvents, type ConnectionStatus, type TokenSource, type WebSocketConstructor, type WebSocketLike } from './tandem-socket.js'
export { TandemProvider, type TandemProviderOptions, type TandemProviderEvents } from './tandem-provider.js'
export { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js'
