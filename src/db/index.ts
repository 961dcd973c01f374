// The database part's public face: pool, migrations, reads, the transactional write path,
// snapshots and the cluster_events log.
export { createPool, describePgError, describePgCause, isBusyError, isConnectionError, poolTarget, type PgOptions, type Pool } from './pool.ts';
export { bootstrap, up, status, reset, assertBootstrapped, clusterSecret, NotBootstrappedError, migrations, type MigrationStatus } from './migrate.ts';
export { selectEntity, pageEntities, keyFromParam, encodeOffset, decodeOffset, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type EntityKey, type Scope, type Page, type PageOptions } from './read.ts';
export { insertEntity, updateEntity, upsertEntity, deleteEntity, cacheKeysOf, type WriteOptions, type WriteResult } from './write.ts';
export { eventsSince, latestConfigVersion, writeEvent } from './events.ts';
export { loadSnapshot } from './snapshot.ts';
export { withTransaction } from './tx.ts';
