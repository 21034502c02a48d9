import { SqliteStorage } from '@tandem/storage-sqlite'
import { rmSync } from 'node:fs'
const mode = process.argv[2] ?? 'full'
rmSync('/tmp/mb', { recursive: true, force: true })
const s = await SqliteStorage.open({ file: '/tmp/mb/t.db', durability: mode as any })
const rows = Number(process.argv[3] ?? 10), size = Number(process.argv[4] ?? 500)
const data = new Uint8Array(size).fill(7)
const entries = Array.from({ length: rows }, () => ({ document: 'doc', update: data }))
const n = 3000
const t0 = process.cpuUsage(); const w0 = performance.now()
const pending: Promise<void>[] = []
for (let i = 0; i < n; i++) { pending.push(s.appendNow!(entries)); if (i % 10 === 0) await new Promise(r => setImmediate(r)) }
const t1 = process.cpuUsage(t0); const w1 = performance.now() - w0
await Promise.all(pending)
const t2 = process.cpuUsage(t0)
console.log(mode, rows, size, `per commit: main-ish cpu ${(((t1.user + t1.system) / n)).toFixed(1)} us (sys ${(t1.system/n).toFixed(1)}), wall ${(w1 * 1000 / n).toFixed(1)} us, total cpu ${((t2.user + t2.system) / n).toFixed(1)} us, syncs ${s.walSyncs}`)
await s.close()
