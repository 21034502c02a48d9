export { CHECKPOINT_PAGES, DEFAULT_CACHE_KIB, SqliteStorage, type SqliteStorageOptions } from './sqlite-storage.js'
