// The POST /config bodies of bench:dbless and bench:dbless-cpu: a whole configuration with 10
// routes per service, one consumer per route with its key-auth key, and `/stay` in every one.
export function dblessConfiguration(routes: number, consumers: number, echoPort: number, salt: string): string {
  const services = [];
  for (let s = 0; s * 10 < routes; s++) {
    services.push({
      name: `svc-${salt}-${s}`,
      url: `http://127.0.0.1:${echoPort}/`,
      routes: Array.from({ length: Math.min(10, routes - s * 10) }, (_, i) => ({ name: `r-${salt}-${s * 10 + i}`, paths: [`/r${s * 10 + i}`] })),
    });
  }
  services.push({ name: `stay-${salt}`, url: `http://127.0.0.1:${echoPort}/`, routes: [{ name: `stay-${salt}`, paths: ['/stay'] }] });
  const consumerList = Array.from({ length: consumers }, (_, i) => ({ username: `u-${salt}-${i}`, keyauth_credentials: [{ key: `key-${salt}-${i}` }] }));
  return JSON.stringify({ _format_version: '3.0', services, consumers: consumerList });
}
