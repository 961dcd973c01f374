// bench:tls's handshake load: `concurrency` loops, each opening a new TLS connection (no
// session given, so every handshake is a full one), sending one GET with Connection: close and
// reading the answer to its end, for `seconds`. The server name is `sni-<k>.bench.test`, k
// drawn from 0..names-1 (names = 0: no server name at all). Prints a JSON line
// {handshakes, errors}. Usage: tls-handshakes.ts <port> <seconds> <concurrency> <names>
import tls from 'node:tls';

const [port, seconds, concurrency, names] = process.argv.slice(2).map(Number) as [number, number, number, number];
const end = Date.now() + seconds * 1000;
let handshakes = 0;
let errors = 0;

function once(): Promise<void> {
  return new Promise((resolve) => {
    const servername = names > 0 ? `sni-${Math.floor(Math.random() * names)}.bench.test` : undefined;
    const s = tls.connect({ port, host: '127.0.0.1', servername, rejectUnauthorized: false }, () => {
      s.write(`GET / HTTP/1.1\r\nHost: ${servername ?? 'localhost'}\r\nConnection: close\r\n\r\n`);
    });
    let got = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      if (got.length < 16) got += d;
    });
    s.on('end', () => {
      if (got.startsWith('HTTP/1.1 200')) handshakes++;
      else errors++;
      resolve();
    });
    s.on('error', () => {
      errors++;
      resolve();
    });
  });
}

async function loop(): Promise<void> {
  while (Date.now() < end) await once();
}

await Promise.all(Array.from({ length: concurrency }, loop));
process.stdout.write(JSON.stringify({ handshakes, errors }) + '\n');
