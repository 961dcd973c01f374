// A real gRPC upstream (@grpc/grpc-js) serving test/support/grpc/greeter.proto in cleartext or
// over TLS, and clients for it, for the proxy's gRPC tests.
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const definition = protoLoader.loadSync(path.join(import.meta.dirname, 'grpc', 'greeter.proto'), { keepCase: true, defaults: true });
const pkg = grpc.loadPackageDefinition(definition) as unknown as { gossamer: { test: { Greeter: grpc.ServiceClientConstructor } } };
export const Greeter = pkg.gossamer.test.Greeter;

export interface HelloReply {
  message: string;
  authority: string;
  forwarded_proto: string;
  via: string;
}

type Call = grpc.ServerUnaryCall<{ name: string; count: number; code: number; message: string }, HelloReply>;

function seen(call: { metadata: grpc.Metadata; getHost(): string }): Pick<HelloReply, 'authority' | 'forwarded_proto' | 'via'> {
  return { authority: call.getHost(), forwarded_proto: String(call.metadata.get('x-forwarded-proto')[0] ?? ''), via: String(call.metadata.get('via')[0] ?? '') };
}

const handlers: grpc.UntypedServiceImplementation = {
  SayHello(call: Call, cb: grpc.sendUnaryData<HelloReply>) {
    cb(null, { message: `hello ${call.request.name}`, ...seen(call) });
  },
  SayHellos(call: grpc.ServerWritableStream<{ name: string; count: number }, HelloReply>) {
    for (let i = 1; i <= call.request.count; i++) call.write({ message: `hello ${call.request.name} #${i}`, ...seen(call) });
    call.end();
  },
  SayHelloToAll(call: grpc.ServerReadableStream<{ name: string }, HelloReply>, cb: grpc.sendUnaryData<HelloReply>) {
    const names: string[] = [];
    call.on('data', (r: { name: string }) => names.push(r.name));
    call.on('end', () => cb(null, { message: `hello ${names.join(', ')}`, ...seen(call) }));
  },
  Chat(call: grpc.ServerDuplexStream<{ name: string }, HelloReply>) {
    call.on('data', (r: { name: string }) => call.write({ message: `hello ${r.name}`, ...seen(call) }));
    call.on('end', () => call.end());
  },
  Fail(call: Call, cb: grpc.sendUnaryData<HelloReply>) {
    const metadata = new grpc.Metadata();
    metadata.set('x-detail', 'from-upstream');
    cb({ code: call.request.code, details: call.request.message, metadata });
  },
};

export interface GreeterServer {
  port: number;
  close(): Promise<void>;
}

/** A Greeter upstream on a free port: cleartext, or TLS with `tls`. */
export async function greeterServer(tls?: { cert: string; key: string }): Promise<GreeterServer> {
  const server = new grpc.Server();
  server.addService(Greeter.service, handlers);
  const creds = tls ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) }]) : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p))));
  return { port, close: () => new Promise<void>((r) => server.tryShutdown(() => r())) };
}

/** A client of the proxy: cleartext (h2c), or TLS trusting `rootCa`, with `authority` as :authority. */
export function greeterClient(port: number, authority: string, rootCa?: string): grpc.Client & Record<string, CallableFunction> {
  const creds = rootCa ? grpc.credentials.createSsl(Buffer.from(rootCa), null, null, { checkServerIdentity: () => undefined }) : grpc.credentials.createInsecure();
  return new Greeter(`127.0.0.1:${port}`, creds, { 'grpc.default_authority': authority }) as grpc.Client & Record<string, CallableFunction>;
}

export interface Outcome<T> {
  value?: T;
  error?: grpc.ServiceError;
}

/** A unary call as a promise that never rejects. */
export function unary<T>(client: grpc.Client & Record<string, CallableFunction>, method: string, req: object, metadata = new grpc.Metadata()): Promise<Outcome<T>> {
  return new Promise((resolve) => {
    client[method]!(req, metadata, { deadline: Date.now() + 10_000 }, (error: grpc.ServiceError | null, value: T) => resolve(error ? { error } : { value }));
  });
}

/** A server-streaming call's messages and final status. */
export function serverStream<T>(client: grpc.Client & Record<string, CallableFunction>, method: string, req: object): Promise<{ messages: T[]; status: grpc.StatusObject }> {
  return new Promise((resolve) => {
    const messages: T[] = [];
    const call = client[method]!(req, { deadline: Date.now() + 10_000 }) as grpc.ClientReadableStream<T>;
    call.on('data', (m: T) => messages.push(m));
    call.on('error', () => {});
    call.on('status', (status: grpc.StatusObject) => resolve({ messages, status }));
  });
}

export { grpc };
