import type { ProviderKind } from './connect.js'
import { EDITOR_KINDS, type EditorKind } from './editors.js'
import { createPane, type Pane } from './pane.js'

/**
 * The playground: two editors side by side on one room, each with its own document and connection.
 * URL: `/?room=<name>&editor=<kind>&names=<left>,<right>`; the room and editor are kept in the URL
 * so a copied link opens the same view.
 */
const params = new URLSearchParams(location.search)
const isKind = (value: string | null): value is EditorKind => EDITOR_KINDS.includes(value as EditorKind)

const randomRoom = () => `room-${Math.random().toString(36).slice(2, 8)}`
const room = params.get('room') || randomRoom()
const kindParam = params.get('editor')
const kind: EditorKind = isKind(kindParam) ? kindParam : 'codemirror'
const provider: ProviderKind = params.get('provider') === 'y-websocket' ? 'y-websocket' : 'tandem'
if (params.get('room') !== room || params.get('editor') !== kind) {
  params.set('room', room)
  params.set('editor', kind)
  history.replaceState(null, '', `?${params.toString()}`)
}

const FIRST_NAMES = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Radia', 'Tim', 'Margaret', 'Linus']

/** A name and id per pane, kept in localStorage so a person keeps their color across reloads. */
const identity = (pane: string, index: number): { name: string; id: string } => {
  const given = params.get('names')?.split(',')[index]?.trim()
  const key = `tandem-playground:user:${pane}`
  let stored = localStorage.getItem(key)
  if (stored === null) {
    stored = JSON.stringify({
      name: FIRST_NAMES[Math.floor(Math.random() * FIRST_NAMES.length)] ?? 'Ada',
      id: crypto.randomUUID(),
    })
    localStorage.setItem(key, stored)
  }
  const user = JSON.parse(stored) as { name: string; id: string }
  // A given name is its own id, so its color is the same in every browser (links in docs, tests).
  return given ? { name: given, id: given } : user
}

for (const button of document.querySelectorAll<HTMLButtonElement>('.kinds button')) {
  button.setAttribute('aria-pressed', String(button.dataset.kind === kind))
  button.addEventListener('click', () => {
    params.set('editor', button.dataset.kind ?? 'codemirror')
    location.search = params.toString()
  })
}

const roomInput = document.querySelector<HTMLInputElement>('#room')
if (roomInput) {
  roomInput.value = room
  roomInput.addEventListener('change', () => {
    params.set('room', roomInput.value.trim() || randomRoom())
    location.search = params.toString()
  })
}
document.querySelector('#copy-link')?.addEventListener('click', () => {
  const copied = document.querySelector('#copied')
  void navigator.clipboard.writeText(location.href).then(
    () => copied && (copied.textContent = 'Copied!'),
    () => copied && (copied.textContent = location.href),
  )
})

const panes: Pane[] = []
const elements = [...document.querySelectorAll<HTMLElement>('.pane')]
const ready = Promise.all(
  elements.map(async (element, index) => {
    const id = element.dataset.pane ?? String(index)
    const { name, id: userId } = identity(id, index)
    panes[index] = await createPane({ element, id, room, kind, provider, userName: name, userId })
  }),
)

/** The handle the browser suite drives (and a console toy). */
const playground = {
  room,
  kind,
  provider,
  ready: ready.then(() => true),
  pane: (id: string): Pane => {
    const pane = panes.find((p) => p.id === id)
    if (!pane) throw new Error(`no pane ${id}`)
    return pane
  },
  text: (id: string): string => playground.pane(id).editor.text(),
  focusEnd: (id: string): void => playground.pane(id).editor.focusEnd(),
  /** Every shared type of a pane's document as text (for failure messages). */
  docText: (id: string): string => [...playground.pane(id).doc.share].map(([name, type]) => `${name}: ${type.toString()}`).join('; '),
}
;(window as unknown as { playground: typeof playground }).playground = playground
document.body.dataset.ready = 'pending'
void ready.then(
  () => (document.body.dataset.ready = 'true'),
  (error: unknown) => {
    document.body.dataset.ready = 'error'
    document.body.dataset.error = String(error)
  },
)
