import { EditorState, type Extension } from '@codemirror/state'
import { EditorView, keymap } from '@codemirror/view'
import { yCollab, yUndoManagerKeymap } from 'y-codemirror.next'
import * as Y from 'yjs'
import type { AwarenessProvider, Binding } from './types.js'

export interface CodeMirrorBindingOptions {
  readonly provider: AwarenessProvider
  readonly doc: Y.Doc
  /** The element the editor is mounted in. */
  readonly parent: Element
  /** The shared text's name in the document. */
  readonly field?: string
  /** Your own extensions (e.g. `basicSetup` from `codemirror`, a language). */
  readonly extensions?: readonly Extension[]
}

export interface CodeMirrorBinding extends Binding {
  readonly view: EditorView
  readonly text: Y.Text
  readonly undoManager: Y.UndoManager
}

/**
 * The collaboration extension alone, for an `EditorView` you create yourself: text sync, remote
 * carets with names, and an undo that only undoes your own changes.
 */
export const codemirrorCollaboration = (text: Y.Text, provider: AwarenessProvider, undoManager = new Y.UndoManager(text)): Extension => [
  keymap.of(yUndoManagerKeymap),
  yCollab(text, provider.awareness, { undoManager }),
]

/** Mounts a CodeMirror 6 editor bound to `doc.getText(field)`. */
export const bindCodeMirror = (options: CodeMirrorBindingOptions): CodeMirrorBinding => {
  const text = options.doc.getText(options.field ?? 'codemirror')
  const undoManager = new Y.UndoManager(text)
  const view = new EditorView({
    parent: options.parent,
    state: EditorState.create({
      doc: text.toString(),
      extensions: [...(options.extensions ?? []), codemirrorCollaboration(text, options.provider, undoManager)],
    }),
  })
  return {
    view,
    text,
    undoManager,
    destroy: () => {
      view.destroy()
      undoManager.destroy()
    },
  }
}
