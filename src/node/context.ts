// What every part of a node is started with: the configuration, the logger, the node's id and
// the stop list. A part that starts something adds its stop; the node stops them in reverse.
import type { Config } from '../config/index.ts';
import type { Logger } from '../log.ts';

export type Stop = () => Promise<void> | void;

export interface NodeContext {
  config: Config;
  log: Logger;
  nodeId: string;
  /** Run in reverse by the node's stop: each part started adds its stop. */
  stops: Stop[];
}
