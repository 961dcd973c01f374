// Request ids like Kong's X-Kong-Request-Id: 32 hex characters. A random per-process prefix
// plus a counter is unique per node without calling the CSPRNG on every request.
import { randomBytes } from 'node:crypto';

const prefix = randomBytes(12).toString('hex');
let counter = 0;

export function nextRequestId(): string {
  counter = (counter + 1) >>> 0;
  return prefix + counter.toString(16).padStart(8, '0');
}
