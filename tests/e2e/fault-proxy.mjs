// A fault-injecting HTTP proxy on 127.0.0.1 for the model-delivery tests: forwards to a
// `sotto serve` and, on request, drops a connection part-way through a body or flips one byte,
// recording every request it sees (with its Range header).
import http from 'node:http';

export async function startFaultProxy(targetOrigin) {
  const faults = [];
  const seen = [];
  const server = http.createServer((request, response) => {
    seen.push({ method: request.method, path: request.url, range: request.headers.range ?? null });
    const fault = faults.find((f) => f.path === request.url && f.remaining > 0 && (f.kind === 'corrupt' || !request.headers.range));
    if (fault) fault.remaining--;
    const upstream = http.request(new URL(request.url, targetOrigin), { method: request.method, headers: request.headers }, (answer) => {
      response.writeHead(answer.statusCode, answer.headers);
      response.flushHeaders();
      let sent = 0;
      let dropped = false;
      answer.on('data', (chunk) => {
        if (dropped) return;
        if (fault?.kind === 'drop' && sent + chunk.length >= fault.afterBytes) {
          dropped = true;
          answer.destroy();
          // The connection drops mid-body: only once the headers and the first bytes are on the
          // wire (a reset before any response would make the browser silently retry the request).
          response.write(chunk.subarray(0, fault.afterBytes - sent), () => setTimeout(() => response.socket?.destroy(), 50));
          sent = fault.afterBytes;
          return;
        }
        if (fault?.kind === 'corrupt' && fault.offset >= sent && fault.offset < sent + chunk.length) {
          chunk = Buffer.from(chunk);
          chunk[fault.offset - sent] ^= 0xff;
        }
        sent += chunk.length;
        response.write(chunk);
      });
      answer.on('end', () => response.end());
    });
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin,
    seen,
    /** The next `times` GETs of `path` (without Range) drop after `afterBytes` bytes of body. */
    dropConnection: (path, afterBytes, times = 1) => faults.push({ kind: 'drop', path, afterBytes, remaining: times }),
    /** The next `times` GETs of `path` carry one flipped byte at `offset`. */
    corruptByte: (path, offset, times = 1) => faults.push({ kind: 'corrupt', path, offset, remaining: times }),
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}
