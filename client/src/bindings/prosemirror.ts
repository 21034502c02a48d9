import { baseKeymap } from 'prosemirror-commands'
import { keymap } from 'prosemirror-keymap'
import type { Schema } from 'prosemirror-model'
import { EditorState, type Plugin } from 'prosemirror-state'
import { EditorView } from 'prosemirror-view'
import { redo, undo, yCursorPlugin, ySyncPlugin, yUndoPlugin } from 'y-prosemirror'
import type * as Y from 'yjs'
import type { AwarenessProvider, Binding } from './types.js'

export interface ProseMirrorBindingOptions {
  readonly provider: AwarenessProvider
  readonly doc: Y.Doc
  /** The element the editor is mounted in. */
  readonly mount: Element
  readonly schema: Schema
  /** The shared XML fragment's name in the document. */
  readonly field?: string
  /** Your own plugins (input rules, menus...), placed after the collaboration ones. */
  readonly plugins?: readonly Plugin[]
}

export interface ProseMirrorBinding extends Binding {
  readonly view: EditorView
  readonly fragment: Y.XmlFragment
}

/**
 * The collaboration plugins alone, for an `EditorState` you create yourself: sync, remote carets
 * with names, and an undo (Mod-z, Mod-y, Mod-Shift-z) that only undoes your own changes.
 * Do not add prosemirror-history next to them.
 */
export const prosemirrorCollaboration = (fragment: Y.XmlFragment, provider: AwarenessProvider): Plugin[] => [
  ySyncPlugin(fragment),
  yCursorPlugin(provider.awareness),
  yUndoPlugin(),
  keymap({ 'Mod-z': undo, 'Mod-y': redo, 'Mod-Shift-z': redo }),
]

/** Mounts a ProseMirror editor bound to `doc.getXmlFragment(field)`. */
export const bindProseMirror = (options: ProseMirrorBindingOptions): ProseMirrorBinding => {
  const fragment = options.doc.getXmlFragment(options.field ?? 'prosemirror')
  const view = new EditorView(options.mount, {
    state: EditorState.create({
      schema: options.schema,
      plugins: [...prosemirrorCollaboration(fragment, options.provider), ...(options.plugins ?? []), keymap(baseKeymap)],
    }),
  })
  return { view, fragment, destroy: () => view.destroy() }
}
