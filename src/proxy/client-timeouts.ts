// nginx's client_body_timeout and send_timeout as the client socket's idle timeout, armed while
// the proxy waits on the client (its body coming in, or its reading a blocked answer) and
// cleared once it does not. A socket that times out is destroyed: closed without an answer, as
// nginx closes it. The listener is added once per socket and does not depend on node:http's own
// handling of socket timeouts (which, once the request is complete, leaves the socket open when
// the response has a listener of its own).
import type { Socket } from 'node:net';

const kArmed = Symbol('gossamer.clientTimeout');
type ArmedSocket = Socket & { [kArmed]?: true };

function destroyIdle(this: Socket): void {
  this.destroy();
}

export function armClientTimeout(socket: Socket | null, ms: number): void {
  if (socket === null || ms <= 0) return;
  const s = socket as ArmedSocket;
  if (s[kArmed] === undefined) {
    s[kArmed] = true;
    s.on('timeout', destroyIdle);
  }
  s.setTimeout(ms);
}

export function disarmClientTimeout(socket: Socket | null): void {
  socket?.setTimeout(0);
}
