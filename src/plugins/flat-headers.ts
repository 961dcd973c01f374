// Response headers as the proxy hands them to header_filter: a flat [name, value, name, value...]
// list, names in the case the upstream sent (ResponseHead.headers). Every lookup here compares
// names case-insensitively; `name` arguments are lower case. A name of another length is
// passed over without lower-casing it (header_filter plugins look up a name or two on every
// response).

/** Whether header name `h` is `name` (lower case). */
function isName(h: string, name: string): boolean {
  return h.length === name.length && h.toLowerCase() === name;
}

/** Index of the first header named `name`, or -1. */
export function indexOfHeader(h: readonly string[], name: string): number {
  for (let i = 0; i < h.length; i += 2) if (isName(h[i]!, name)) return i;
  return -1;
}

/** The first value of `name`. */
export function headerValue(h: readonly string[], name: string): string | undefined {
  const i = indexOfHeader(h, name);
  return i === -1 ? undefined : h[i + 1];
}

/** Every value of `name`, in order. */
export function headerValues(h: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < h.length; i += 2) if (isName(h[i]!, name)) out.push(h[i + 1]!);
  return out;
}

/** Removes every `name` header in place; returns their values, in order. */
export function removeHeader(h: string[], name: string): string[] {
  const vals: string[] = [];
  for (let i = h.length - 2; i >= 0; i -= 2) {
    if (isName(h[i]!, name)) {
      vals.unshift(h[i + 1]!);
      h.splice(i, 2);
    }
  }
  return vals;
}

/** Kong's kong.response.set_header: `name` ends with exactly this one value. */
export function setHeader(h: string[], name: string, value: string): void {
  removeHeader(h, name.toLowerCase());
  h.push(name, value);
}
