// The data plane's cluster side, imported only once its proxy serves: through tsx the libp2p
// stack is most of a second of module loading, which must not stand between a restarted data
// plane and its first request served from the level cache.
export { peerIdFromString } from '@libp2p/peer-id';
export { peerToMultiaddr } from '../../cluster/host.ts';
export { describeDialError } from '../../cluster/dial-errors.ts';
