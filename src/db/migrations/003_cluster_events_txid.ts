// The writing transaction's id on every cluster_events row. config_version comes from a
// sequence taken inside transactions, so versions commit out of order and rolled-back ones
// leave holes; nodes read the log by transaction id instead (src/sync/gossip/db.ts): a row
// that is not visible yet belongs to a transaction whose id is at or above the reader's
// snapshot xmin. The DEFAULT fills it in for every writer without changing their INSERT.
import type { Migration } from '../migration.ts';

export const migration: Migration = {
  name: '003_cluster_events_txid',
  up: `
ALTER TABLE cluster_events ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX cluster_events_txid_idx ON cluster_events(txid);
`,
};
