// Ports for the simulated nodes: src/free-port.ts's, below Linux's ephemeral range (a port from
// port 0 is only free until someone binds it, and every outgoing connection on the machine
// draws from that range).
export { freePort as simPort } from '../../src/free-port.ts';
