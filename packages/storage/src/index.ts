export type {
  AppendEntry,
  CompactionResult,
  CompactOptions,
  DocumentStats,
  Durability,
  Fold,
  StorageAdapter,
  StoredDocument,
  VersionInfo,
} from './storage-adapter.js'
export { assertAppendEntries, StorageClosedError } from './adapter-guards.js'
export { foldUpdates } from './fold.js'
export { MemoryStorage } from './memory-storage.js'
// The contract suite is the "./contract" export: it imports vitest, which production code must not load.
/** A tiny seeded PRNG (mulberry32) for reproducible workloads and tests. */
export { seededRandom } from './seeded-edits.js'
