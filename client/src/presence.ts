/**
 * Presence: who is here, under which name and color.
 *
 * Editor bindings (y-codemirror.next, y-prosemirror, TipTap's CollaborationCaret, y-quill, y-monaco)
 * all read the local user from the awareness field `user` = `{ name, color, colorLight }`, so that
 * is the shape written here. Lexical's collaboration plugin instead puts `name` and `color` at the
 * top level of the awareness state; `readUser` understands both, so one "who is here" list works
 * whichever editor a peer uses.
 *
 * The awareness is typed structurally so any y-protocols `Awareness` (from this package's provider,
 * y-websocket or Hocuspocus) fits without this file importing one.
 */

export type AwarenessState = Record<string, unknown>

export interface PresenceAwareness {
  readonly clientID: number
  getStates(): Map<number, AwarenessState>
  getLocalState(): AwarenessState | null
  setLocalStateField(field: string, value: unknown): void
  on(event: 'change', listener: (...args: never[]) => void): void
  off(event: 'change', listener: (...args: never[]) => void): void
}

/** The `user` field of an awareness state, as editor bindings read it. */
export interface PresenceUser {
  readonly name: string
  /** A CSS color for carets and name labels (`#rrggbb`). */
  readonly color: string
  /** The same hue, light: selection backgrounds (`#rrggbb` + alpha). */
  readonly colorLight: string
  /** A stable id of the person (not the awareness client id, which changes on every reload). */
  readonly id?: string
}

export interface Participant {
  /** The awareness client id (one per document instance, so one person may appear twice). */
  readonly clientId: number
  readonly name: string
  readonly color: string
  readonly isLocal: boolean
  readonly id?: string
}

/**
 * A palette chosen to stay readable as caret and label color on white, with white label text.
 * Picking from a fixed palette (rather than any hue) keeps two people from getting two
 * indistinguishable yellows.
 */
export const PRESENCE_COLORS = [
  '#e6194b',
  '#3cb44b',
  '#4363d8',
  '#f58231',
  '#911eb4',
  '#0f8b8d',
  '#f032e6',
  '#9a6324',
  '#808000',
  '#000075',
  '#c2185b',
  '#2e7d32',
] as const

/** FNV-1a: a tiny, well-spread string hash, enough to pick a palette entry. */
const hash = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** The same id always gets the same color, on every machine and after every reload. */
export const colorFor = (id: string): string => PRESENCE_COLORS[hash(id) % PRESENCE_COLORS.length] ?? PRESENCE_COLORS[0]

/** `#rrggbb` plus an alpha byte: what y-codemirror.next and y-monaco use for selections. */
export const lighten = (color: string, alpha = 0x33): string =>
  /^#[0-9a-f]{6}$/i.test(color) ? `${color}${alpha.toString(16).padStart(2, '0')}` : color

export interface LocalUserOptions {
  readonly name: string
  /** Stable id of the person; the color is derived from it when `color` is not given. */
  readonly id?: string
  readonly color?: string
}

/** Publishes the local user in the `user` awareness field and returns what was published. */
export const setLocalUser = (awareness: PresenceAwareness, options: LocalUserOptions): PresenceUser => {
  const color = options.color ?? colorFor(options.id ?? options.name)
  const user: PresenceUser = {
    name: options.name,
    color,
    colorLight: lighten(color),
    ...(options.id === undefined ? {} : { id: options.id }),
  }
  awareness.setLocalStateField('user', user)
  return user
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null

/**
 * The name and color in one awareness state: `state.user.{name,color}` (y-* bindings, TipTap,
 * Hocuspocus) or top-level `state.{name,color}` (Lexical). Null when the state names nobody.
 */
export const readUser = (state: unknown): { name: string; color: string; id?: string } | null => {
  if (!isRecord(state)) return null
  const source = isRecord(state.user) && typeof state.user.name === 'string' ? state.user : state
  if (typeof source.name !== 'string') return null
  const color = typeof source.color === 'string' ? source.color : colorFor(source.name)
  return typeof source.id === 'string' ? { name: source.name, color, id: source.id } : { name: source.name, color }
}

/** Everyone with a named awareness state, the local user first, then by name. */
export const listParticipants = (awareness: PresenceAwareness): Participant[] => {
  const participants: Participant[] = []
  for (const [clientId, state] of awareness.getStates()) {
    const user = readUser(state)
    if (user === null) continue
    participants.push({ clientId, ...user, isLocal: clientId === awareness.clientID })
  }
  return participants.sort((a, b) => Number(b.isLocal) - Number(a.isLocal) || a.name.localeCompare(b.name) || a.clientId - b.clientId)
}

/** Calls `listener` now and on every awareness change; returns the unsubscribe. */
export const watchParticipants = (awareness: PresenceAwareness, listener: (participants: Participant[]) => void): (() => void) => {
  const onChange = () => listener(listParticipants(awareness))
  awareness.on('change', onChange)
  onChange()
  return () => awareness.off('change', onChange)
}
