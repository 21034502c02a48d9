import type Database from 'better-sqlite3'

/**
 * The on-disk layout. Log rows carry an integer document id rather than the name, so the hot table
 * stays narrow whatever the names are. Version 1 as first shipped; later versions are the
 * migrations below it.
 */
export const SCHEMA_V1 = `
CREATE TABLE documents (
  id       INTEGER PRIMARY KEY,
  name     TEXT    NOT NULL UNIQUE,
  last_seq INTEGER NOT NULL
);

CREATE TABLE updates (
  doc_id INTEGER NOT NULL,
  seq    INTEGER NOT NULL,
  data   BLOB    NOT NULL,
  PRIMARY KEY (doc_id, seq)
) WITHOUT ROWID;

-- The snapshot stands for every update of its document with seq <= snapshots.seq.
CREATE TABLE snapshots (
  doc_id INTEGER PRIMARY KEY,
  seq    INTEGER NOT NULL,
  data   BLOB    NOT NULL
);

-- AUTOINCREMENT: a version id is never handed out twice, even after its document is deleted.
CREATE TABLE versions (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  doc_id     INTEGER NOT NULL,
  label      TEXT    NOT NULL,
  created_at INTEGER NOT NULL, -- milliseconds since the epoch
  data       BLOB    NOT NULL
);
CREATE INDEX versions_by_document ON versions (doc_id, id);
`

/**
 * Version 2: sequence numbers are no longer handed out by a counter on the document's row. The next
 * one follows the highest of the log's last row and the snapshot (compaction deletes rows only up
 * to the snapshot's seq, so that highest never goes back). Bumping the counter rewrote the
 * documents table's page in every commit: one more 4 KiB WAL frame for every group commit, a
 * quarter of a commit's cost for a tick's worth of small updates.
 */
const V2_SEQ_FROM_LOG = `ALTER TABLE documents DROP COLUMN last_seq;`

/** Each entry moves the schema from version `index` to `index + 1` (`PRAGMA user_version`). */
const MIGRATIONS: readonly string[] = [SCHEMA_V1, V2_SEQ_FROM_LOG]

/** Brings the file's schema up to date, in one transaction, refusing files from a newer Tandem. */
export function migrate(db: Database.Database): void {
  db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number
    if (current > MIGRATIONS.length) {
      throw new Error(
        `SqliteStorage: ${db.name} has schema version ${current}, newer than this Tandem knows (${MIGRATIONS.length})`,
      )
    }
    for (const sql of MIGRATIONS.slice(current)) db.exec(sql)
    db.pragma(`user_version = ${MIGRATIONS.length}`)
  }).immediate()
}
