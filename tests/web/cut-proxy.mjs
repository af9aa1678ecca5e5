// A small HTTP/1.1 proxy for the browser tests (node `net`, 127.0.0.1, port 0) that stands between the browser
// and aktsyncd and can cut answers: the browser loads the app from the proxy's address, so every request of
// the app crosses it. Each client connection gets its own connection to aktsyncd, opened at its first request
// (when aktsyncd is down, the client connection is closed without an answer, as a dead server's would be).
// Requests are read whole (Content-Length bodies: what browsers send), one at a time per connection (browsers
// do not pipeline), and passed on; `decide(request)` may ask for the answer to be cut:
//   undefined     the answer is passed on whole;
//   {cutBody: n}  (n a number, or a function of the answer's head {first, headers}) the answer's head and the first n bytes of its body (as on the wire: gzipped when it is) are
//                 passed on, then (CUT_DELAY_MS later, as a link that drops after the bytes arrived: a browser
//                 discards what its page had not yet read of an answer when the answer fails) both connections
//                 are closed; the rest is read from aktsyncd and dropped.
//                 With n = 0 the server's answer is lost after the server committed the request. The head is
//                 passed on because a browser resends a request by itself when a reused connection closes
//                 before any byte of the answer (Chromium does, POSTs included): the app would never see it.
//   {respond: {status, headers, body}}  the proxy answers this itself; aktsyncd never sees the request;
//   {waitFor: p}  the request is passed on once the promise p is settled (the test looks at the tablet first);
//   {hold: true}  nothing of the answer is passed on and the client's connection stays open (a tab closed
//                 while its request is on its way, or a silent link);
//   {stallBody: n} (a number or a function of the head, as cutBody) the head and the first n bytes of the body
//                 are passed on, then nothing more, and the client's connection stays open (a link that
//                 stalls mid-answer): the client must give up by itself.
// Every exchange is logged: {at (ms), method, path, query, batchId (of a push, read from its body), uploadOffset
// (a request's Upload-Offset), sent (a PATCH's body bytes), status, length (the answer's Content-Length), bytes
// (body bytes passed on), cut}.
import net from 'node:net';
import zlib from 'node:zlib';

const HEAD_END = Buffer.from('\r\n\r\n');
const CUT_DELAY_MS = 500;

function parseHead(buf) {
  const end = buf.indexOf(HEAD_END);
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const headers = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { first: lines[0], headers, size: end + HEAD_END.length };
}

// The length of a chunked body at the start of `buf` (trailers included), or -1 when it is not all there.
function chunkedLength(buf) {
  let i = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', i);
    if (eol < 0) return -1;
    const size = parseInt(buf.subarray(i, eol).toString('latin1'), 16);
    if (Number.isNaN(size)) throw new Error('bad chunk size');
    i = eol + 2;
    if (size === 0) {
      const end = buf.indexOf(HEAD_END, i - 2);
      return end < 0 ? -1 : end + HEAD_END.length;
    }
    if (buf.length < i + size + 2) return -1;
    i += size + 2;
  }
}

export async function startCutProxy({ upstreamPort, decide = () => undefined }) {
  const log = [];
  const sockets = new Set();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    let upstream = null, upstreamReady = null;
    let inBuf = Buffer.alloc(0);
    let busy = false;  // a request is on its way and its answer not finished
    let cutting = false;  // an answer was cut: the client's connection closes CUT_DELAY_MS later
    const closeBoth = () => { client.destroy(); if (upstream) upstream.destroy(); };
    client.on('error', closeBoth);

    const connectUpstream = () => {
      if (upstreamReady) return upstreamReady;
      upstreamReady = new Promise((resolve) => {
        upstream = net.connect(upstreamPort(), '127.0.0.1');
        upstream.once('connect', () => resolve(true));
        upstream.once('error', () => { resolve(false); closeBoth(); });
        upstream.on('close', () => { if (!cutting) client.destroy(); });
      });
      return upstreamReady;
    };

    const next = async () => {
      if (busy) return;
      const head = parseHead(inBuf);
      if (!head) return;
      const length = Number(head.headers['content-length'] || 0);
      if (inBuf.length < head.size + length) return;
      const raw = inBuf.subarray(0, head.size + length);
      const body = raw.subarray(head.size);
      inBuf = inBuf.subarray(head.size + length);
      busy = true;
      const [method, target] = head.first.split(' ');
      const url = new URL(target, 'http://x');
      const entry = { at: Date.now(), method, path: url.pathname, query: Object.fromEntries(url.searchParams), status: 0, length: null, bytes: 0, cut: false };
      if (head.headers['upload-offset'] !== undefined) entry.uploadOffset = Number(head.headers['upload-offset']);
      if (method === 'PATCH') entry.sent = length;
      if (method === 'POST' && url.pathname === '/v1/push') {
        try {
          const text = (head.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(body) : body).toString();
          entry.batchId = JSON.parse(text).batch_id;
        } catch { /* not a batch */ }
      }
      log.push(entry);
      const action = decide(entry) || {};
      if (action.waitFor) await action.waitFor;
      if (action.respond) {
        // The proxy answers itself (a busy server, a gateway error): the request never reaches aktsyncd.
        const { status, headers = {}, body: text = '' } = action.respond;
        const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
        client.write(`HTTP/1.1 ${status} Answer\r\nContent-Length: ${Buffer.byteLength(text)}\r\n${extra}\r\n${text}`);
        entry.status = status;
        busy = false;
        setImmediate(next);
        return;
      }
      if (!(await connectUpstream())) return;
      await relay(raw, method, entry, action);
    };

    // Passes the request on and its answer back (cut as `action` says); then the next request.
    const relay = (raw, method, entry, action) => new Promise((resolve) => {
      let buf = Buffer.alloc(0);
      let head = null, total = -1;  // total: the answer's size with its head, -1 while unknown (chunked) or until close
      let sent = 0;  // bytes of the answer passed on
      let untilClose = false;
      const finish = () => {
        upstream.off('data', onData);
        upstream.off('close', onClose);
        busy = false;
        resolve();
        setImmediate(next);
      };
      const onClose = () => {
        if (head && untilClose && !entry.cut) client.end();
      };
      const onData = (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        if (!head) {
          head = parseHead(buf);
          if (!head) return;
          entry.status = Number(head.first.split(' ')[1]);
          const te = (head.headers['transfer-encoding'] || '').toLowerCase();
          if (method === 'HEAD' || entry.status === 204 || entry.status === 304) total = head.size;
          else if (head.headers['content-length'] !== undefined) {
            entry.length = Number(head.headers['content-length']);
            total = head.size + entry.length;
          } else if (te.includes('chunked')) total = -1;
          else untilClose = true;
        }
        if (total < 0 && !untilClose) {
          const n = chunkedLength(buf.subarray(head.size));
          if (n >= 0) total = head.size + n;
        }
        if (action.hold) return;
        const stallBody = typeof action.stallBody === 'function' ? action.stallBody(head) : action.stallBody;
        const cutBody = typeof action.cutBody === 'function' ? action.cutBody(head) : action.cutBody;
        const limit = stallBody !== undefined ? head.size + stallBody : cutBody !== undefined ? head.size + cutBody : Infinity;
        const have = total >= 0 ? Math.min(buf.length, total) : buf.length;
        const upTo = Math.min(have, limit);
        if (upTo > sent && !entry.cut) {
          client.write(buf.subarray(sent, upTo));
          entry.bytes += upTo - Math.max(sent, head.size);
          sent = upTo;
        }
        const complete = total >= 0 && buf.length >= total;
        if (stallBody !== undefined) {
          // Stalled: nothing more is passed on; the client's connection stays open until the client closes it.
          if (upTo >= limit) entry.stalled = true;
          if (complete) resolve();
          return;
        }
        if (upTo >= limit && !entry.cut && (complete || have >= limit)) {
          // The cut: the client's connection ends here. The rest of the answer is read and dropped.
          entry.cut = true;
          cutting = true;
          setTimeout(() => client.end(() => client.destroy()), CUT_DELAY_MS);
        }
        if (complete) {
          if (entry.cut) { upstream.destroy(); resolve(); return; }
          finish();
        }
      };
      upstream.on('data', onData);
      upstream.on('close', onClose);
      upstream.write(raw);
    });

    client.on('data', (chunk) => {
      inBuf = Buffer.concat([inBuf, chunk]);
      next();
    });
    client.on('close', () => { if (upstream) upstream.destroy(); });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    log,
    close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(r); }),
  };
}
