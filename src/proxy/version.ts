import { readFileSync } from 'node:fs';

// Read once: the Via header and the metrics carry it.
export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
export const VIA = `1.1 gossamer/${VERSION}`;
export const SERVER = `gossamer/${VERSION}`;
