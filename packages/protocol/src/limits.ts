/** Defaults for the limits that the protocol layer itself enforces; the server's config extends these. */
export const DEFAULT_LIMITS = {
  /** Largest WebSocket message accepted (ws `maxPayload`); closes with 1009 beyond it. */
  maxMessageBytes: 16 * 1024 * 1024,
  /** Largest JSON state one awareness entry may carry. */
  maxAwarenessStateBytes: 64 * 1024,
} as const
