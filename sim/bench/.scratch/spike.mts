import '../../../src/polyfill.ts';
import { createHost } from '../../../src/cluster/host.ts';
import { Blocklist } from '../../../src/cluster/partition.ts';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { pskFromSecret } from '../../../src/cluster/identity.ts';
import { multiaddr } from '@multiformats/multiaddr';
const psk1 = pskFromSecret('a'.repeat(64)), psk2 = pskFromSecret('b'.repeat(64));
const mk = async (port: number, psk: Uint8Array) => (await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: [{host:'127.0.0.1',port}], advertise: null, psk, blocklist: new Blocklist(), connectionPingIntervalMs: 1000, dialTimeoutMs: 2000, gossipHeartbeatMs: 500 })).libp2p;
const a = await mk(19101, psk1), b = await mk(19102, psk1), c = await mk(19103, psk2);
console.log(a.getMultiaddrs().map(String));
let t = performance.now();
console.log('ping ok', await a.services.ping.ping(multiaddr('/ip4/127.0.0.1/tcp/19102')), performance.now()-t);
t = performance.now();
try { await a.services.ping.ping(multiaddr('/ip4/127.0.0.1/tcp/19103'), {signal: AbortSignal.timeout(2000)}); } catch (e: any) { console.log('psk mismatch:', e.name, e.code, e.message, (e.errors??[]).map((x:any)=>x.name+':'+x.message), performance.now()-t); }
t = performance.now();
try { await a.services.ping.ping(multiaddr('/ip4/127.0.0.1/tcp/19109'), {signal: AbortSignal.timeout(2000)}); } catch (e: any) { console.log('refused:', e.name, e.code, e.message, performance.now()-t); }
a.addEventListener('connection:close', (ev) => console.log('close', ev.detail.remotePeer.toString(), performance.now()-t));
t = performance.now();
await b.stop();
await new Promise(r=>setTimeout(r,300));
try { await a.services.ping.ping(b.peerId, {signal: AbortSignal.timeout(2000)}); } catch (e: any) { console.log('after stop:', e.name, e.code, e.message, (e.errors??[]).map((x:any)=>x.name+':'+x.code+':'+x.message), performance.now()-t); }
await a.stop(); await c.stop();
