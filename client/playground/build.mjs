// Bundles the playground ahead of time into dist/ (served by `tandem serve` at /): no CDN, works
// offline. Run by `pnpm --filter @tandem/client run build:playground`; the browser suite imports
// `buildPlayground` to build before it starts.
import { copyFile, mkdir, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import * as esbuild from 'esbuild'

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(join(here, '../package.json'))
const monacoCore = require.resolve('monaco-editor/esm/vs/editor/editor.api.js')

/** y-monaco imports 'monaco-editor' (every language service); the editor core is all it needs. */
const monacoCoreOnly = {
  name: 'monaco-core-only',
  setup(build) {
    build.onResolve({ filter: /^monaco-editor$/ }, () => ({ path: monacoCore }))
  },
}
export const playgroundDist = join(here, 'dist')

export const buildPlayground = async ({ outdir = playgroundDist, minify = true, sourcemap = true } = {}) => {
  await rm(outdir, { recursive: true, force: true })
  await mkdir(outdir, { recursive: true })
  await esbuild.build({
    entryPoints: {
      main: join(here, 'src/main.ts'),
      'editor.worker': require.resolve('monaco-editor/esm/vs/editor/editor.worker.js'),
    },
    absWorkingDir: here,
    outdir,
    bundle: true,
    format: 'esm',
    // Each editor lands in its own chunk, loaded only when chosen.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    assetNames: 'assets/[name]-[hash]',
    platform: 'browser',
    target: 'es2022',
    minify,
    sourcemap,
    conditions: ['@tandem/source'],
    plugins: [monacoCoreOnly],
    loader: { '.ttf': 'file' },
    logLevel: 'warning',
  })
  await Promise.all(['index.html', 'style.css'].map((file) => copyFile(join(here, file), join(outdir, file))))
  return outdir
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const outdir = await buildPlayground()
  process.stdout.write(`playground built into ${outdir}\n`)
}
