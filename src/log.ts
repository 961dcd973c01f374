import pino, { type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * Fields no log line may show, at any level (issue #18: secrets stay secret). pino's redact
 * compiles these paths once; it costs nothing until a line is written. Why each is here:
 */
const SECRET_PATHS = [
  // The configuration's secret keys, should a configuration (or part of one) ever be logged:
  // the database password, the private keys (PEM text is allowed in ssl_cert_key), the
  // cluster secret of the database and the private-network key derived from it.
  'pg_password', '*.pg_password', 'ssl_cert_key', '*.ssl_cert_key', 'cluster_cert_key', '*.cluster_cert_key',
  'cluster_secret', '*.cluster_secret', 'psk', '*.psk',
  // Credentials as entities hold them: a password (hashed or not), one given to the Admin API.
  'password', '*.password',
  // Postgres repeats a refused row's values in an error's detail ("Key (key)=(...) already
  // exists"): a credential's key or a password hash, with pino's `err` serializer showing it.
  'err.detail', '*.err.detail',
  // Request headers that carry credentials (Authorization, the usual API key header, cookies).
  'headers.authorization', '*.headers.authorization', 'headers["proxy-authorization"]', '*.headers["proxy-authorization"]',
  'headers.cookie', '*.headers.cookie', 'headers.apikey', '*.headers.apikey',
  // A request's URL: API keys travel in query strings too, so only the path is logged.
  'url', '*.url',
];

/** The query string of a logged URL is cut off; every other redacted value is replaced. */
function censor(value: unknown, path: string[]): unknown {
  if (path[path.length - 1] === 'url' && typeof value === 'string') {
    const q = value.indexOf('?');
    return q === -1 ? value : `${value.slice(0, q)}?******`;
  }
  return '******';
}

// One logger per process; every line carries the node name so that logs of several
// nodes on one machine (gossamer up, the simulator) can be told apart once merged.
// `dest`: where lines go (stdout unless a test reads them back).
export function createLogger(nodeName: string, level: LevelWithSilent = 'info', dest?: pino.DestinationStream): Logger {
  const opts = { level, base: { node: nodeName, pid: process.pid }, redact: { paths: SECRET_PATHS, censor } };
  return dest ? pino(opts, dest) : pino(opts);
}

/** Kong's log_level values (the configuration key's choices). */
export type KongLogLevel = 'debug' | 'info' | 'notice' | 'warn' | 'error' | 'crit' | 'alert' | 'emerg';

/**
 * Kong's log_level names as pino levels (pino has no notice, crit, alert or emerg). Kept here,
 * not beside the configuration key: every part imports this module, and it imports nothing of ours.
 */
export const PINO_LEVEL: Record<KongLogLevel, 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = {
  debug: 'debug',
  info: 'info',
  notice: 'info',
  warn: 'warn',
  error: 'error',
  crit: 'fatal',
  alert: 'fatal',
  emerg: 'fatal',
};
