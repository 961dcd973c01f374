// Kong's file-log: one JSON line per request (kong.log.serialize), appended to `path`. The file
// is opened once per plugin instance and kept open, as Kong keeps its descriptor: a file
// removed underneath keeps receiving the lines (Kong's "logs are lost if reopen = false"). A
// new instance is built when the configuration is reloaded (`gossamer reload`, or any plugin
// change), so a rotated file is reopened then; `reopen = true` reopens it for every line.
// Writes are synchronous, as Kong's C.write is: a line lands whole and in order, and a local
// append costs microseconds.
import { closeSync, openSync, writeSync } from 'node:fs';
import type { PluginHandler, PluginInstance } from '../types.ts';
import { writeEntry } from '../log-entry-json.ts';
import type { FileLogConfig } from './schema.ts';

/** strerror(3) texts Kong's message shows for the errors an open can meet. */
const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EISDIR: 'Is a directory',
  EACCES: 'Permission denied',
  EROFS: 'Read-only file system',
  ENOSPC: 'No space left on device',
  ENOTDIR: 'Not a directory',
};

const handler: PluginHandler<FileLogConfig> = {
  create(conf, env): PluginInstance {
    let fd: number | null = null;
    // Logged once per error kind until the file opens again: a missing directory would
    // otherwise write one error line per request into the node's own log.
    let lastError = '';
    const open = (): number | null => {
      try {
        const opened = openSync(conf.path, 'a', 0o644);
        lastError = '';
        return opened;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (code !== lastError) {
          lastError = code;
          env.logger.error({ plugin: 'file-log', path: conf.path, code }, `[file-log] failed to open the file: ${STRERROR[code] ?? (err as Error).message} while logging request`);
        }
        return null;
      }
    };
    const close = (): void => {
      if (fd !== null) closeSync(fd);
      fd = null;
    };
    return {
      name: 'file-log',
      log(ctx) {
        const entry = writeEntry(ctx, conf.custom_fields_by_lua);
        if (conf.reopen) close();
        fd ??= open();
        if (fd === null) return;
        try {
          writeSync(fd, entry + '\n');
        } catch (err) {
          env.logger.error({ plugin: 'file-log', path: conf.path, err }, '[file-log] failed to write the log entry');
          close();
        }
      },
      close,
    };
  },
};

export default handler;
