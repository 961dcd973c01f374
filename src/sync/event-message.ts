// Change events on the wire: the message a node gossips on EVENTS_TOPIC and a control plane
// pushes to its data planes, the same bytes for both (msgpack `{ v: 1, events }`).
import { Packr } from 'msgpackr';
import type { ChangeEvent } from '../entities/types.ts';

export const EVENTS_TOPIC = 'gossamer/events/1';

const packr = new Packr({ useRecords: false });

export function packEvents(events: ChangeEvent[]): Uint8Array {
  return packr.pack({ v: 1, events });
}

/**
 * The events of a message, unchecked (each receiver filters what it can apply); null for a
 * message of another version. Throws on bytes that are not msgpack.
 */
export function unpackEvents(data: Uint8Array): unknown[] | null {
  const msg = packr.unpack(data) as { v?: number; events?: unknown };
  if (msg?.v !== 1 || !Array.isArray(msg.events)) return null;
  return msg.events;
}
