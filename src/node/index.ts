// The composition root's public face (src/cli/start.ts runs it; see start.ts for the roles).
export { startNode, type RunningNode } from './start.ts';
export { runNode } from './run.ts';
