import * as Y from 'yjs'
import { setLocalUser, watchParticipants, type PresenceUser } from '../../src/presence.js'
import { connectPane, type PaneConnection, type ProviderKind } from './connect.js'
import { mountEditor, type EditorKind, type MountedEditor } from './editors.js'

export interface PaneOptions {
  readonly element: HTMLElement
  readonly id: string
  readonly room: string
  readonly kind: EditorKind
  readonly provider: ProviderKind
  readonly userName: string
  readonly userId: string
}

export interface Pane {
  readonly id: string
  readonly doc: Y.Doc
  readonly user: PresenceUser
  readonly connection: PaneConnection
  readonly editor: MountedEditor
  /** What the badges show, for the browser suite. */
  readonly state: { status: string; synced: boolean; saved: boolean | null; offline: boolean; here: string[] }
  setOffline(offline: boolean): void
  destroy(): void
}

/** sessionStorage: a pane taken offline stays offline across a reload (how the suite tests offline edits). */
const offlineKey = (room: string, pane: string) => `tandem-playground:offline:${room}:${pane}`

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text = ''): HTMLElementTagNameMap[K] => {
  const node = document.createElement(tag)
  node.className = className
  node.textContent = text
  return node
}

/** One side of the page: its own Y.Doc, provider, offline copy, editor and badges. */
export const createPane = async (options: PaneOptions): Promise<Pane> => {
  const { element, id, room } = options
  const doc = new Y.Doc()
  const offline = sessionStorage.getItem(offlineKey(room, id)) === '1'
  const connection = connectPane({ kind: options.provider, room, doc, storageName: `tandem-playground:${room}:${id}`, online: !offline })
  const { provider } = connection
  const user = setLocalUser(provider.awareness, { name: options.userName, id: options.userId })

  const head = el('div', 'pane-head')
  const me = el('span', 'me', user.name)
  me.style.setProperty('--color', user.color)
  const status = el('span', 'badge status')
  const saved = el('span', 'badge saved')
  const toggle = el('label', 'offline-toggle')
  const checkbox = el('input', 'offline')
  checkbox.type = 'checkbox'
  checkbox.checked = offline
  toggle.append(checkbox, ' offline')
  head.append(me, status, saved, toggle)
  const host = el('div', 'editor-host')
  const who = el('div', 'who')
  element.replaceChildren(head, host, who)

  const state: Pane['state'] = { status: 'disconnected', synced: false, saved: null, offline, here: [] }
  provider.watch((next) => {
    Object.assign(state, next)
    status.dataset.status = next.status
    status.textContent = next.status
    saved.dataset.saved = String(next.saved)
    saved.textContent = next.saved === null ? 'saved: n/a' : next.saved ? 'saved' : 'unsaved changes'
    saved.hidden = next.saved === null
  })
  const stopWatching = watchParticipants(provider.awareness, (participants) => {
    state.here = participants.map((p) => p.name)
    who.replaceChildren(
      el('span', '', 'Here:'),
      ...participants.map((p) => {
        const person = el('span', 'person', p.isLocal ? `${p.name} (you)` : p.name)
        person.style.setProperty('--color', p.color)
        return person
      }),
    )
  })

  const setOffline = (value: boolean) => {
    state.offline = value
    checkbox.checked = value
    if (value) {
      sessionStorage.setItem(offlineKey(room, id), '1')
      provider.disconnect()
    } else {
      sessionStorage.removeItem(offlineKey(room, id))
      provider.connect()
    }
  }
  checkbox.addEventListener('change', () => setOffline(checkbox.checked))

  const editor = await mountEditor(options.kind, { host, doc, provider })
  element.dataset.ready = 'true'

  return {
    id,
    doc,
    user,
    connection,
    editor,
    state,
    setOffline,
    destroy: () => {
      stopWatching()
      editor.destroy()
      connection.destroy()
      doc.destroy()
    },
  }
}
