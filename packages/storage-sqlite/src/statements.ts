import type Database from 'better-sqlite3'

export interface LoggedRow {
  readonly seq: number
  readonly data: Buffer
}

export interface VersionRow {
  readonly id: number
  readonly label: string
  readonly createdAt: number
  readonly bytes: number
}

type Statement<Params extends unknown[], Row = unknown> = Database.Statement<Params, Row>

/** Every statement SqliteStorage runs. Single-column reads are plucked: they return the value. */
export interface Statements {
  readonly documentId: Statement<[name: string], number>
  readonly insertDocument: Statement<[name: string]>
  /** The seq of the document's last logged row, or null when its log is empty. */
  readonly lastLoggedSeq: Statement<[docId: number], number | null>
  readonly insertUpdate: Statement<[docId: number, seq: number, data: Uint8Array]>
  readonly updatesAfter: Statement<[docId: number, seq: number], LoggedRow>
  readonly deleteUpdatesUpTo: Statement<[docId: number, seq: number]>
  readonly snapshot: Statement<[docId: number], LoggedRow>
  readonly upsertSnapshot: Statement<[docId: number, seq: number, data: Uint8Array]>
  readonly logStats: Statement<[docId: number], { updates: number; updateBytes: number }>
  readonly snapshotBytes: Statement<[docId: number], number>
  /** The snapshot's seq alone (reading `snapshot` would read its whole blob). */
  readonly snapshotSeq: Statement<[docId: number], number>
  readonly listDocuments: Statement<[], string>
  readonly deleteDocument: ReadonlyArray<Statement<[docId: number]>>
  readonly insertVersion: Statement<[docId: number, label: string, createdAt: number, data: Uint8Array]>
  readonly listVersions: Statement<[name: string], VersionRow>
  readonly versionData: Statement<[name: string, versionId: number], Buffer>
}

/** Prepares every statement once, when the store opens. */
export function prepareStatements(db: Database.Database): Statements {
  return {
    documentId: db.prepare<[name: string], number>('SELECT id FROM documents WHERE name = ?').pluck(),

    insertDocument: db.prepare<[name: string]>('INSERT INTO documents (name) VALUES (?)'),
    // One seek to the end of the document's range of the primary key: no row is read.
    lastLoggedSeq: db.prepare<[docId: number], number | null>('SELECT max(seq) FROM updates WHERE doc_id = ?').pluck(),
    insertUpdate: db.prepare<[docId: number, seq: number, data: Uint8Array]>(
      'INSERT INTO updates (doc_id, seq, data) VALUES (?, ?, ?)',
    ),
    updatesAfter: db.prepare<[docId: number, seq: number], LoggedRow>(
      'SELECT seq, data FROM updates WHERE doc_id = ? AND seq > ? ORDER BY seq',
    ),
    deleteUpdatesUpTo: db.prepare<[docId: number, seq: number]>('DELETE FROM updates WHERE doc_id = ? AND seq <= ?'),

    snapshot: db.prepare<[docId: number], LoggedRow>('SELECT seq, data FROM snapshots WHERE doc_id = ?'),
    upsertSnapshot: db.prepare<[docId: number, seq: number, data: Uint8Array]>(
      `INSERT INTO snapshots (doc_id, seq, data) VALUES (?, ?, ?)
       ON CONFLICT (doc_id) DO UPDATE SET seq = excluded.seq, data = excluded.data`,
    ),

    // length() of a BLOB column reads the size from the record header, not the bytes: these stay cheap.
    logStats: db.prepare<[docId: number], { updates: number; updateBytes: number }>(
      'SELECT count(*) AS updates, coalesce(sum(length(data)), 0) AS updateBytes FROM updates WHERE doc_id = ?',
    ),
    snapshotBytes: db.prepare<[docId: number], number>('SELECT length(data) FROM snapshots WHERE doc_id = ?').pluck(),
    snapshotSeq: db.prepare<[docId: number], number>('SELECT seq FROM snapshots WHERE doc_id = ?').pluck(),

    listDocuments: db
      .prepare<[], string>(
        `SELECT name FROM documents AS d
         WHERE EXISTS (SELECT 1 FROM snapshots WHERE doc_id = d.id)
            OR EXISTS (SELECT 1 FROM updates WHERE doc_id = d.id)
         ORDER BY name`,
      )
      .pluck(),

    deleteDocument: [
      db.prepare<[docId: number]>('DELETE FROM updates WHERE doc_id = ?'),
      db.prepare<[docId: number]>('DELETE FROM snapshots WHERE doc_id = ?'),
      db.prepare<[docId: number]>('DELETE FROM versions WHERE doc_id = ?'),
      db.prepare<[docId: number]>('DELETE FROM documents WHERE id = ?'),
    ],

    insertVersion: db.prepare<[docId: number, label: string, createdAt: number, data: Uint8Array]>(
      'INSERT INTO versions (doc_id, label, created_at, data) VALUES (?, ?, ?, ?)',
    ),
    listVersions: db.prepare<[name: string], VersionRow>(
      `SELECT v.id, v.label, v.created_at AS createdAt, length(v.data) AS bytes
       FROM versions AS v JOIN documents AS d ON d.id = v.doc_id
       WHERE d.name = ? ORDER BY v.id`,
    ),
    versionData: db
      .prepare<[name: string, versionId: number], Buffer>(
        `SELECT v.data FROM versions AS v JOIN documents AS d ON d.id = v.doc_id
         WHERE d.name = ? AND v.id = ?`,
      )
      .pluck(),
  }
}
