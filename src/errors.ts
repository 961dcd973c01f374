// Errors every part may throw while the node starts. Kept below the composition root (src/node/)
// so that parts do not import the root that assembles them.

/** A start-up failure with a message for the operator (printed without a stack). */
export class StartError extends Error {
  override name = 'StartError';
}
