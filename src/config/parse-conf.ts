/**
 * Kong's kong.conf format: `key = value` lines, `#` starts a comment unless written `\#`,
 * blank lines ignored. Returns the raw strings; typing happens in load.ts.
 */
export interface ConfLine {
  key: string;
  value: string;
  line: number;
}

export function parseConf(text: string): { entries: ConfLine[]; errors: string[] } {
  const entries: ConfLine[] = [];
  const errors: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/(?<!\\)#.*$/, '').replace(/\\#/g, '#').trim();
    if (!line) return;
    const eq = line.indexOf('=');
    if (eq <= 0) {
      errors.push(`line ${i + 1}: expected 'key = value', got '${raw.trim()}'`);
      return;
    }
    entries.push({ key: line.slice(0, eq).trim().toLowerCase(), value: line.slice(eq + 1).trim(), line: i + 1 });
  });
  return { entries, errors };
}
