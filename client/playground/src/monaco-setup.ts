// Only Monaco's editor core (no language services): a plain-text collaborative editor does not
// need them, and it keeps the bundle a third of the full one.
import * as monaco from 'monaco-editor'

// Monaco runs its text model computations in a web worker, bundled next to this file.
;(self as unknown as { MonacoEnvironment: unknown }).MonacoEnvironment = {
  getWorker: () => new Worker(new URL('./editor.worker.js', import.meta.url), { type: 'module' }),
}

export { monaco }
