// key_in_body: the key as a field of the request body, read the way kong.request.get_body()
// does (application/x-www-form-urlencoded, multipart/form-data, application/json), and the
// body re-encoded without that field for hide_credentials (kong.service.request.set_body).
import { boundaryOf, parseMultipart, serializeMultipart } from '../multipart.ts';

export interface BodyKey {
  key: string;
  name: string;
  /** The body without the key's field, in the same encoding. */
  without(): Buffer;
}

/** Thrown for a body kong.request.get_body() cannot decode: key-auth answers 400. */
export class UnreadableBody extends Error {}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/** The first of `names` present as a string field of `body`, or null. Throws UnreadableBody. */
export function keyFromBody(body: Buffer, contentType: string | undefined, names: string[]): BodyKey | null {
  const type = mediaType(contentType);
  if (type === 'application/x-www-form-urlencoded') {
    const params = new URLSearchParams(body.toString('utf8'));
    for (const name of names) {
      const v = params.get(name);
      if (v === null) continue;
      return {
        key: v,
        name,
        without: () => {
          params.delete(name);
          return Buffer.from(params.toString());
        },
      };
    }
    return null;
  }
  if (type === 'application/json' || type.endsWith('+json')) {
    let doc: unknown;
    try {
      doc = JSON.parse(body.toString('utf8'));
    } catch {
      throw new UnreadableBody('request body is not valid JSON');
    }
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return null;
    const obj = doc as Record<string, unknown>;
    for (const name of names) {
      const v = obj[name];
      if (typeof v !== 'string') continue;
      return {
        key: v,
        name,
        without: () => {
          delete obj[name];
          return Buffer.from(JSON.stringify(obj));
        },
      };
    }
    return null;
  }
  if (type === 'multipart/form-data') {
    const boundary = boundaryOf(contentType!);
    const parts = boundary ? parseMultipart(body, boundary) : null;
    if (!parts) throw new UnreadableBody('request body is not valid multipart/form-data');
    for (const name of names) {
      const part = parts.find((p) => p.name === name && !/filename=/i.test(p.head));
      if (!part) continue;
      return { key: part.body.toString('utf8'), name, without: () => serializeMultipart(parts.filter((p) => p !== part), boundary!) };
    }
    return null;
  }
  throw new UnreadableBody(`unsupported content type '${type}'`);
}
