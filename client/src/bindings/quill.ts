import Quill, { type QuillOptions } from 'quill'
import QuillCursors from 'quill-cursors'
import { QuillBinding } from 'y-quill'
import type * as Y from 'yjs'
import type { AwarenessProvider, Binding } from './types.js'

export interface QuillBindingOptions {
  readonly provider: AwarenessProvider
  readonly doc: Y.Doc
  /** The element the editor is mounted in. */
  readonly mount: HTMLElement
  /** The shared text's name in the document. */
  readonly field?: string
  /** Any other Quill options (theme, toolbar...). */
  readonly quillOptions?: QuillOptions
}

export interface TandemQuillBinding extends Binding {
  readonly quill: Quill
  readonly text: Y.Text
}

let cursorsRegistered = false

/** Registers quill-cursors (the remote carets y-quill draws) once per page. */
export const registerQuillCursors = (): void => {
  if (cursorsRegistered) return
  Quill.register('modules/cursors', QuillCursors)
  cursorsRegistered = true
}

/** Mounts a Quill 2 editor with remote carets, bound to `doc.getText(field)`. */
export const bindQuill = (options: QuillBindingOptions): TandemQuillBinding => {
  registerQuillCursors()
  const quillOptions = options.quillOptions ?? {}
  const quill = new Quill(options.mount, {
    ...quillOptions,
    modules: {
      ...quillOptions.modules,
      cursors: true,
      // Quill's own undo must only undo local edits, or it would revert other people's typing.
      history: { userOnly: true },
    },
  })
  const text = options.doc.getText(options.field ?? 'quill')
  const binding = new QuillBinding(text, quill, options.provider.awareness)
  return {
    quill,
    text,
    destroy: () => {
      binding.destroy()
      quill.disable()
    },
  }
}
