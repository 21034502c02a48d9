import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const clientDir = join(import.meta.dirname, '../..')
const pkg = JSON.parse(readFileSync(join(clientDir, 'package.json'), 'utf8')) as {
  exports: Record<string, { '@tandem/source': string; types: string; default: string }>
  peerDependencies: Record<string, string>
  peerDependenciesMeta: Record<string, { optional?: boolean }>
}

/** Which packages each binding imports at run time: all optional peers of @tandem/client. */
const EDITOR_PEERS: Record<string, string[]> = {
  codemirror: ['@codemirror/state', '@codemirror/view', 'y-codemirror.next'],
  prosemirror: ['prosemirror-commands', 'prosemirror-keymap', 'prosemirror-model', 'prosemirror-state', 'prosemirror-view', 'y-prosemirror'],
  tiptap: ['@tiptap/core', '@tiptap/extension-collaboration', '@tiptap/extension-collaboration-caret'],
  monaco: ['monaco-editor', 'y-monaco'],
  quill: ['quill', 'quill-cursors', 'y-quill'],
}

describe('@tandem/client editor subpath exports', () => {
  for (const [editor, peers] of Object.entries(EDITOR_PEERS)) {
    it(`exports ./${editor} from its source and build, with its editor as an optional peer`, () => {
      const entry = pkg.exports[`./${editor}`]
      expect(entry).toEqual({
        '@tandem/source': `./src/bindings/${editor}.ts`,
        types: `./dist/bindings/${editor}.d.ts`,
        default: `./dist/bindings/${editor}.js`,
      })
      expect(existsSync(join(clientDir, entry!['@tandem/source']))).toBe(true)
      const source = readFileSync(join(clientDir, entry!['@tandem/source']), 'utf8')
      for (const peer of peers) {
        expect(source).toContain(`'${peer}`)
        expect(pkg.peerDependencies[peer], peer).toBeDefined()
        expect(pkg.peerDependenciesMeta[peer]?.optional, peer).toBe(true)
      }
    })
  }
})
