import type { Awareness } from 'y-protocols/awareness'

/**
 * What every binding needs from a provider: its awareness (cursors, names). `TandemProvider`,
 * y-websocket's `WebsocketProvider` and `HocuspocusProvider` all fit.
 */
export interface AwarenessProvider {
  readonly awareness: Awareness
}

/** What every binding returns: tear the binding down (the document and provider stay yours). */
export interface Binding {
  destroy(): void
}
