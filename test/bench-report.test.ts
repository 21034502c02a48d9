import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { writeReport } from '../bench/report.js'
import type { BenchResults } from '../bench/src/results.js'

/**
 * BENCHMARKS.md as bench/report.ts writes it, from the committed results of the last full run with
 * S1's medians set by hand: the machine, the exact command, the targets (a miss said plainly), the
 * tables and the charts. Numbers are never judged here; only what the report says about them.
 */

const workDir = mkdtempSync(join(tmpdir(), 'tandem-bench-report-'))
afterAll(() => rmSync(workDir, { recursive: true, force: true }))

const committed = JSON.parse(readFileSync(new URL('../bench/results/full.json', import.meta.url), 'utf8')) as BenchResults
const s1Variant = `clients=${Math.max(...committed.settings.s1.clients)}`

/**
 * The committed results with Tandem's and the relay's S1 p99 at the largest client count replaced,
 * and optionally the load generator's CPU while it measured Tandem there.
 */
const withS1 = (tandemMs: number, relayMs: number, tandemClientCpuPct?: number): BenchResults => ({
  ...committed,
  summary: committed.summary.map((row) => {
    if (row.scenario !== 'S1' || row.variant !== s1Variant || (row.server !== 'tandem' && row.server !== 'raw-relay')) return row
    const metrics: Record<string, number> = { ...row.metrics, p99Ms: row.server === 'tandem' ? tandemMs : relayMs }
    if (row.server === 'tandem' && tandemClientCpuPct !== undefined) metrics['clientCpuPct'] = tandemClientCpuPct
    return { ...row, metrics }
  }),
})

const report = (results: BenchResults, name: string): { markdown: string; latency: string; throughput: string } => {
  const dir = join(workDir, name)
  mkdirSync(dir)
  const [markdown, latency, throughput] = writeReport(results, { markdown: join(dir, 'BENCHMARKS.md'), chartDir: dir })
  return { markdown: readFileSync(markdown!, 'utf8'), latency: readFileSync(latency!, 'utf8'), throughput: readFileSync(throughput!, 'utf8') }
}

const targetRow = (markdown: string, prefix: string): string => markdown.split('\n').find((line) => line.startsWith(`| ${prefix}`)) ?? ''

describe('benchmark report', () => {
  it('names the machine, the command and each target, and says plainly which are missed', () => {
    const met = report(withS1(2.6, 2.5), 'met').markdown
    expect(met).toContain(`| CPUs (nproc) | ${committed.machine.nproc} |`)
    expect(met).toContain(`| Node.js | ${committed.machine.node} |`)
    expect(met).toContain(`This run: \`${committed.command}\``)
    expect(targetRow(met, 'S1 p99')).toMatch(/= 1\.04× \| yes \|$/)

    const missed = report(withS1(4, 2.5), 'missed').markdown
    expect(targetRow(missed, 'S1 p99')).toMatch(/= 1\.60× \| \*\*NO\*\* \|$/)
    expect(missed).toMatch(/\*\*Tandem misses \d+ of \d+ targets in this run:\*\* [^\n]*\bS1\b/)
    expect(missed).not.toContain('Every target measured here is met.')
    // Every scenario's table, with the ratio of Tandem to each server.
    for (const title of ['S1 fan-out latency', 'S2 throughput', 'S3 many documents', 'S4 big document', 'S5 idle connections', 'S7 ingest', 'S8 presence storm']) {
      expect(missed).toContain(`### ${title}`)
    }
    expect(missed.match(/Tandem ÷ this/g)?.length ?? 0).toBeGreaterThanOrEqual(7)
  })

  it('says where the load generator, not the server, was the bound', () => {
    // The committed run pins the load generator to one CPU: 100% is its capacity.
    expect(committed.pinning?.clients).toBe('1')
    expect(targetRow(report(withS1(2.6, 2.5, 50), 'client-free').markdown, 'S1 p99')).not.toContain('bound by the client')
    expect(targetRow(report(withS1(2.6, 2.5, 95), 'client-bound').markdown, 'S1 p99')).toContain(
      '(load generator at 95% of its 100%: bound by the client, not the server)',
    )
  })

  it('draws latency and throughput per server, and links both charts', () => {
    const { markdown, latency, throughput } = report(withS1(4, 2.5), 'charts')
    for (const chart of [latency, throughput]) {
      expect(chart.startsWith('<svg')).toBe(true)
      expect(chart).toContain('raw ws relay')
    }
    expect(latency).toContain('S1 fan-out p99')
    expect(throughput).toMatch(/S2/)
    expect(markdown).toContain('![latency per server](latency.svg)')
    expect(markdown).toContain('![throughput per server](throughput.svg)')
  })
})
