// Just enough multipart/form-data for the plugins that read or rewrite form bodies
// (request-transformer, key-auth's key_in_body; Kong's lua-multipart role): parts are kept as
// bytes (file parts pass through untouched); fields are found by their Content-Disposition
// name, and simple fields can be set. Shared here, beside anonymous.ts, so no plugin imports
// from another plugin's folder.

export interface Part {
  name: string;
  /** Raw header block of the part, without the blank line. */
  head: string;
  body: Buffer;
}

export function boundaryOf(contentType: string): string | null {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]!) : null;
}

function nameOf(head: string): string {
  const m = /content-disposition:[^\r\n]*?\bname="([^"]*)"/i.exec(head);
  return m ? m[1]! : '';
}

/** The parts of `body`; null when it is not a well-formed multipart body for `boundary`. */
export function parseMultipart(body: Buffer, boundary: string): Part[] | null {
  const delim = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let at = body.indexOf(delim);
  if (at === -1) return body.length === 0 ? [] : null;
  for (;;) {
    const after = at + delim.length;
    if (body[after] === 45 && body[after + 1] === 45) return parts; // closing --boundary--
    const start = body.indexOf('\r\n', after);
    if (start === -1) return null;
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delim]), start);
    if (next === -1) return null;
    const part = body.subarray(start + 2, next);
    const sep = part.indexOf('\r\n\r\n');
    if (sep === -1) return null;
    const head = part.subarray(0, sep).toString('latin1');
    parts.push({ name: nameOf(head), head, body: part.subarray(sep + 4) });
    at = next + 2;
  }
}

export function simplePart(name: string, value: string): Part {
  return { name, head: `Content-Disposition: form-data; name="${name.replace(/"/g, '%22')}"`, body: Buffer.from(value) };
}

export function renamePart(p: Part, name: string): Part {
  const head = p.head.replace(/(content-disposition:[^\r\n]*?\bname=)"[^"]*"/i, `$1"${name.replace(/"/g, '%22')}"`);
  return { name, head, body: p.body };
}

export function serializeMultipart(parts: Part[], boundary: string): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) out.push(Buffer.from(`--${boundary}\r\n${p.head}\r\n\r\n`, 'latin1'), p.body, Buffer.from('\r\n'));
  out.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(out);
}
