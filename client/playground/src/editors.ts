import 'prosemirror-view/style/prosemirror.css'
import 'quill/dist/quill.snow.css'
import type * as Y from 'yjs'
import type { PaneProvider } from './connect.js'

export const EDITOR_KINDS = ['codemirror', 'prosemirror', 'tiptap', 'quill', 'monaco'] as const
export type EditorKind = (typeof EDITOR_KINDS)[number]

export interface MountedEditor {
  /** The text the editor shows (what the browser suite compares across pages). */
  text(): string
  /** Focuses the editor with the caret at the end of the document. */
  focusEnd(): void
  destroy(): void
}

export interface MountOptions {
  readonly host: HTMLElement
  readonly doc: Y.Doc
  readonly provider: PaneProvider
}

/**
 * Each editor is loaded on demand (esbuild splits them into their own chunks), so the page only
 * downloads the one it shows. Every mount is the few lines docs/editors.md shows.
 */
export const mountEditor = async (kind: EditorKind, { host, doc, provider }: MountOptions): Promise<MountedEditor> => {
  switch (kind) {
    case 'codemirror': {
      const [{ basicSetup }, { bindCodeMirror }] = await Promise.all([import('codemirror'), import('../../src/bindings/codemirror.js')])
      const binding = bindCodeMirror({ provider, doc, parent: host, extensions: [basicSetup] })
      const { view } = binding
      return {
        text: () => view.state.doc.toString(),
        focusEnd: () => {
          view.focus()
          view.dispatch({ selection: { anchor: view.state.doc.length } })
        },
        destroy: () => binding.destroy(),
      }
    }
    case 'prosemirror': {
      const [{ schema }, { TextSelection }, { bindProseMirror }] = await Promise.all([
        import('prosemirror-schema-basic'),
        import('prosemirror-state'),
        import('../../src/bindings/prosemirror.js'),
      ])
      const binding = bindProseMirror({ provider, doc, mount: host, schema })
      const { view } = binding
      return {
        text: () => textOfBlocks(view.state.doc),
        focusEnd: () => {
          view.focus()
          view.dispatch(view.state.tr.setSelection(TextSelection.atEnd(view.state.doc)))
        },
        destroy: () => binding.destroy(),
      }
    }
    case 'tiptap': {
      const [{ StarterKit }, { bindTiptap }] = await Promise.all([import('@tiptap/starter-kit'), import('../../src/bindings/tiptap.js')])
      const binding = bindTiptap({ provider, doc, element: host, extensions: [StarterKit.configure({ undoRedo: false })] })
      const { editor } = binding
      return {
        text: () => editor.getText({ blockSeparator: '\n' }),
        focusEnd: () => void editor.commands.focus('end'),
        destroy: () => binding.destroy(),
      }
    }
    case 'quill': {
      const { bindQuill } = await import('../../src/bindings/quill.js')
      // Quill puts its toolbar before the element it is given: give it one inside the pane.
      const mount = document.createElement('div')
      host.append(mount)
      const binding = bindQuill({ provider, doc, mount, quillOptions: { theme: 'snow' } })
      // Quill always ends its document with a newline; drop it so all editors compare alike.
      const { quill } = binding
      return {
        text: () => quill.getText().replace(/\n$/, ''),
        focusEnd: () => {
          quill.focus()
          quill.setSelection(quill.getLength() - 1, 0, 'user')
        },
        destroy: () => binding.destroy(),
      }
    }
    case 'monaco': {
      const [{ monaco }, { bindMonaco }] = await Promise.all([import('./monaco-setup.js'), import('../../src/bindings/monaco.js')])
      const mount = document.createElement('div')
      mount.className = 'monaco-host'
      host.append(mount)
      const editor = monaco.editor.create(mount, {
        value: '',
        language: 'plaintext',
        automaticLayout: true,
        minimap: { enabled: false },
        padding: { top: 16 },
      })
      const binding = bindMonaco({ provider, doc, editor })
      return {
        text: () => editor.getValue(),
        focusEnd: () => {
          const model = editor.getModel()
          editor.focus()
          if (model) editor.setPosition(model.getPositionAt(model.getValueLength()))
        },
        destroy: () => {
          binding.destroy()
          editor.dispose()
        },
      }
    }
  }
}

/** A ProseMirror document's text with one line per block, like the other editors show it. */
const textOfBlocks = (node: { childCount: number; child(index: number): { textContent: string } }): string =>
  Array.from({ length: node.childCount }, (_, i) => node.child(i).textContent).join('\n')
