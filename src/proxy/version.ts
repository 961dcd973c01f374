import { readFileSync } from 'node:fs';

// Read once: the Via header and the metrics carry it.
export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
export const VIA = `1.1 gossamer/${VERSION}`;
/** Via for an HTTP/2 hop (Kong names the protocol version of each side: `2 kong/x`). */
export const VIA_H2 = `2 gossamer/${VERSION}`;
export const SERVER = `gossamer/${VERSION}`;
