// The shape of one schema migration, in a file of its own so the migration files and the
// runner that orders them (migrate.ts) both import it without importing each other.

export interface Migration {
  /** NNN_name for core migrations (the number orders them); `<plugin>:NNN_name` for a plugin's. */
  name: string;
  up: string;
}
