import { closeSync, openSync, readSync } from 'node:fs'
import { endianness } from 'node:os'

/** `iVersion` of the WAL-index header in every SQLite since 3.7.0. */
const WAL_INDEX_VERSION = 3_007_000
/** Offsets in the `-shm` file (https://sqlite.org/walformat.html, "The WAL-Index Header"). */
const MX_FRAME = 16
const N_BACKFILL = 96
const HEADER_BYTES = 100
/** The header's fields are in the byte order of the machine that wrote them: this one. */
const LITTLE_ENDIAN = endianness() === 'LE'

/**
 * Reads how many WAL frames wait to be checkpointed, from the WAL-index (the `-shm` file SQLite's
 * unix VFS keeps next to a WAL database): its header's `mxFrame` (the last valid frame) minus the
 * checkpoint info's `nBackfill` (the frames already copied into the database file). better-sqlite3
 * has no `sqlite3_wal_hook`, which is how SQLite itself learns this count after every commit.
 *
 * A file whose version is not the one SQLite has used since 3.7.0 is not read (`pendingFrames`
 * answers undefined from then on), nor is a file that cannot be opened or read.
 */
export class WalIndex {
  readonly #file: string
  readonly #header = Buffer.alloc(HEADER_BYTES)
  #fd: number | null = null
  #unreadable = false

  /** @param databaseFile the database's path; the index is `${databaseFile}-shm`. */
  constructor(databaseFile: string) {
    this.#file = `${databaseFile}-shm`
  }

  /** Frames in the WAL not yet copied into the database file; undefined when the index cannot be read. */
  pendingFrames(): number | undefined {
    if (this.#unreadable) return undefined
    try {
      this.#fd ??= openSync(this.#file, 'r')
      if (readSync(this.#fd, this.#header, 0, HEADER_BYTES, 0) < HEADER_BYTES) throw new Error('short read')
    } catch {
      this.#giveUp()
      return undefined
    }
    if (this.#field(0) !== WAL_INDEX_VERSION) {
      this.#giveUp()
      return undefined
    }
    return Math.max(0, this.#field(MX_FRAME) - this.#field(N_BACKFILL))
  }

  close(): void {
    if (this.#fd !== null) closeSync(this.#fd)
    this.#fd = null
  }

  #field(offset: number): number {
    return LITTLE_ENDIAN ? this.#header.readUInt32LE(offset) : this.#header.readUInt32BE(offset)
  }

  #giveUp(): void {
    this.#unreadable = true
    this.close()
  }
}
