import { createRequire } from 'node:module';

// Single source of the version: package.json (shown in GET /, Via headers, membership).
export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
