import { createServer, type Server } from 'node:http';

/**
 * /healthz: the process is alive. /readyz: at least one bind can send and one
 * can receive — what the ECS health check and the local launcher wait for.
 */
export function startHealthServer(port: number, ready: () => { ok: boolean; detail: Record<string, unknown> }): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      return;
    }
    if (req.url === '/readyz') {
      const r = ready();
      res.writeHead(r.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: r.ok, ...r.detail }));
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve(server));
  });
}
