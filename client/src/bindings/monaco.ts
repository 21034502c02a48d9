import type * as monaco from 'monaco-editor'
import { MonacoBinding } from 'y-monaco'
import type * as Y from 'yjs'
import { monacoCursorStyles } from './monaco-cursor-styles.js'
import type { AwarenessProvider, Binding } from './types.js'

export { monacoCursorStyles }

export interface MonacoBindingOptions {
  readonly provider: AwarenessProvider
  readonly doc: Y.Doc
  /** An editor you created with `monaco.editor.create(...)`; its model is bound. */
  readonly editor: monaco.editor.IStandaloneCodeEditor
  /** The shared text's name in the document. */
  readonly field?: string
}

export interface TandemMonacoBinding extends Binding {
  readonly binding: MonacoBinding
  readonly text: Y.Text
}

/** Binds a Monaco editor's model to `doc.getText(field)`, with named remote carets. */
export const bindMonaco = (options: MonacoBindingOptions): TandemMonacoBinding => {
  const model = options.editor.getModel()
  if (model === null) throw new Error('bindMonaco: the editor has no model')
  const text = options.doc.getText(options.field ?? 'monaco')
  const binding = new MonacoBinding(text, model, new Set([options.editor]), options.provider.awareness)
  const styles = monacoCursorStyles(options.provider, options.editor.getContainerDomNode().ownerDocument)
  return {
    binding,
    text,
    destroy: () => {
      styles.destroy()
      binding.destroy()
    },
  }
}
