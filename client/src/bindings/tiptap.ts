import { Editor, type AnyExtension, type EditorOptions } from '@tiptap/core'
import Collaboration from '@tiptap/extension-collaboration'
import CollaborationCaret from '@tiptap/extension-collaboration-caret'
import type * as Y from 'yjs'
import { readUser } from '../presence.js'
import type { AwarenessProvider, Binding } from './types.js'

export interface TiptapBindingOptions {
  readonly provider: AwarenessProvider
  readonly doc: Y.Doc
  /** The element the editor is mounted in. */
  readonly element: Element
  /**
   * Your extensions, e.g. `StarterKit.configure({ undoRedo: false })`: TipTap's own undo history
   * must be off, Collaboration brings one that only undoes your own changes.
   */
  readonly extensions: readonly AnyExtension[]
  /** The shared XML fragment's name in the document. */
  readonly field?: string
  /** Any other TipTap editor options. */
  readonly editorOptions?: Partial<Omit<EditorOptions, 'element' | 'extensions'>>
}

export interface TiptapBinding extends Binding {
  readonly editor: Editor
}

/**
 * The Collaboration and CollaborationCaret extensions, for an `Editor` you create yourself.
 * The caret label shows the awareness `user` (set it with `setLocalUser` from `@tandem/client/presence`).
 */
export const tiptapCollaboration = (options: { provider: AwarenessProvider; doc: Y.Doc; field?: string }): AnyExtension[] => {
  // CollaborationCaret writes its `user` option into the awareness on start: hand it the one
  // already published so nothing (colorLight, id) is lost.
  const local = options.provider.awareness.getLocalState()
  const user = readUser(local) === null ? { name: 'Anonymous', color: '#888888' } : (local?.user ?? readUser(local))
  return [
    Collaboration.configure({ document: options.doc, field: options.field ?? 'tiptap' }),
    CollaborationCaret.configure({ provider: options.provider, user }),
  ]
}

/** Mounts a TipTap v3 editor bound to `doc.getXmlFragment(field)`. */
export const bindTiptap = (options: TiptapBindingOptions): TiptapBinding => {
  const editor = new Editor({
    ...options.editorOptions,
    element: options.element,
    extensions: [...options.extensions, ...tiptapCollaboration(options)],
  })
  return { editor, destroy: () => editor.destroy() }
}
