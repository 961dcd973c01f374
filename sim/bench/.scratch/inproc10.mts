import { runInproc } from '../membership-inproc.ts';
const n = Number(process.argv[2] ?? 10);
console.log(await runInproc(n, { rateWindowMs: 5000, log: console.log, transport: (process.argv[3] as any) ?? 'tcp' }));
process.exit(0);
