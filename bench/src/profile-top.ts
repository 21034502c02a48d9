import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Top self-time functions of V8 CPU profiles (`node --cpu-prof`), the way to read where a server
 * spent a benchmark:
 *
 *   tsx src/run.ts --servers tandem --scenarios S2 --reps 1 --cpu-prof /tmp/prof --no-report
 *   tsx src/profile-top.ts /tmp/prof [--top 30] [--inclusive]
 *
 * With a directory, every .cpuprofile in it is merged. `--inclusive` ranks by time spent in a
 * function or anything it called (each sample counted once per function, however deep the recursion).
 */

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const shorten = (url: string): string => {
  if (url === '') return '(native)'
  const path = url.replace(/^file:\/\//, '')
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/(.+)$/.exec(path)
  if (pnpm !== null) return pnpm[1]!
  const repo = /\/work\/main\/(.+)$/.exec(path)
  return repo !== null ? repo[1]! : path
}

const frameName = (node: ProfileNode): string => {
  const frame = node.callFrame
  return `${frame.functionName || '(anonymous)'}  ${shorten(frame.url)}${frame.url === '' ? '' : `:${frame.lineNumber + 1}`}`
}

export const topSelfTime = (
  profiles: readonly CpuProfile[],
  top: number,
  inclusive = false,
): { total: number; rows: Array<{ name: string; ms: number; share: number }> } => {
  const self = new Map<string, number>()
  let total = 0
  for (const profile of profiles) {
    const byId = new Map(profile.nodes.map((node) => [node.id, node]))
    const parent = new Map<number, number>()
    for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
    profile.samples.forEach((id, index) => {
      const node = byId.get(id)
      const delta = profile.timeDeltas[index] ?? 0
      if (node === undefined) return
      // Waiting for I/O is not work: leave it out of the shares.
      if (node.callFrame.functionName === '(idle)') return
      total += delta
      if (!inclusive) {
        const name = frameName(node)
        self.set(name, (self.get(name) ?? 0) + delta)
        return
      }
      const seen = new Set<string>()
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const name = frameName(byId.get(at)!)
        if (seen.has(name)) continue
        seen.add(name)
        self.set(name, (self.get(name) ?? 0) + delta)
      }
    })
  }
  const rows = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, micros]) => ({ name, ms: micros / 1000, share: micros / total }))
  return { total: total / 1000, rows }
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const target = process.argv[2]
  if (target === undefined) throw new Error('usage: profile-top.ts <file.cpuprofile | dir> [--top n]')
  const topIndex = process.argv.indexOf('--top')
  const top = topIndex > 0 ? Number(process.argv[topIndex + 1]) : 25
  const files = statSync(target).isDirectory()
    ? readdirSync(target)
        .filter((name) => name.endsWith('.cpuprofile'))
        .map((name) => join(target, name))
    : [target]
  const { total, rows } = topSelfTime(
    files.map((file) => JSON.parse(readFileSync(file, 'utf8')) as CpuProfile),
    top,
    process.argv.includes('--inclusive'),
  )
  process.stdout.write(`${files.length} profile(s), ${(total / 1000).toFixed(2)} s busy (idle excluded)\n`)
  process.stdout.write(`${process.argv.includes('--inclusive') ? '  incl ms' : '  self ms'}   share  function\n`)
  for (const row of rows) process.stdout.write(`${row.ms.toFixed(0).padStart(9)} ${(row.share * 100).toFixed(1).padStart(6)}%  ${row.name}\n`)
}
