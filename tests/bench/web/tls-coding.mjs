// Probe: which content coding the tablet app's feed pages get over HTTPS in Debian's chromium. Not part of
// deploy/test.sh. aktsyncd serves TLS (a self-signed certificate made here with openssl; the browser context
// ignores certificate errors); a device's feed page of BENCH_RECORDS varied records is fetched in the page
// as the app fetches it (sync.js), and the probe prints what the browser asked (Accept-Encoding, as on the
// wire), what the server answered (Content-Encoding), the bytes on the wire (CDP), and the same page's bytes
// when asked by a client that prefers zstd ("zstd", "zstd, gzip;q=0.5"), gzip alone, or nothing.
//
//   AKTSYNCD=$PWD/build/dev/server/aktsyncd node tests/bench/web/tls-coding.mjs
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import https from 'node:https';
import * as H from '../../web/harness.mjs';
import { rng, surveyBody } from './records.mjs';
import { step, call } from '../../web/harness.mjs';

const RECORDS = Number(process.env.BENCH_RECORDS || 1000);
const scope = { municipality: 'gracanice', community: 'serb', component: 'SO1' };
const GRACANICE = { municipality: 'gracanice', community: 'serb', settlements: ['Laplje Selo', 'Gračanica / Graçanicë', 'Livađe / Livadhe'] };

// One GET over TLS from node with the given Accept-Encoding: {coding, bytes} as on the wire.
const raw = (port, p, token, accept) => new Promise((resolve, reject) => {
  const headers = { Authorization: 'Bearer ' + token };
  if (accept !== null) headers['Accept-Encoding'] = accept;
  https.get({ host: '127.0.0.1', port, path: p, headers, rejectUnauthorized: false }, (r) => {
    let bytes = 0;
    r.on('data', (d) => { bytes += d.length; });
    r.on('end', () => resolve({ status: r.statusCode, coding: r.headers['content-encoding'] || 'identity', bytes }));
  }).on('error', reject);
});

async function main() {
  const admin = await H.startWithForms(['so1_interethnic_survey']);
  await H.addEnumerator(admin, 'enis', [scope]);
  const r = rng(7);
  await H.seedRecords(admin, 'enis', { form: 'so1_interethnic_survey', scope, template: {}, count: RECORDS,
    vary: (i) => ({ ...surveyBody(r, i, GRACANICE), cluster_id: `gracanice-${String(i % 100).padStart(2, '0')}`, hh_number: Math.floor(i / 100) + 1 }) });
  const code = await call('POST', '/v1/admin/enrolments', admin, { username: 'enis', device_name: 'probe' });
  const dev = await call('POST', '/v1/enrol', null, { code: code.data.code, actor: crypto.randomUUID(), app_version: 'probe/1' });
  const token = dev.data.token;
  await H.stopServer();

  // The same data folder served over TLS.
  const cert = path.join(H.tmp, 'cert.pem'), key = path.join(H.tmp, 'key.pem'), conf = path.join(H.tmp, 'tls.json');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'pipe' });
  fs.writeFileSync(conf, JSON.stringify({ tls: { cert_file: cert, key_file: key } }));
  const portFile = path.join(H.tmp, 'tls-port');
  const server = spawn(H.binary, ['--data-dir', H.dataDir, '--config', conf, '--listen', '127.0.0.1:0', '--port-file', portFile, '--log-level', 'warn'],
    { stdio: ['ignore', 'inherit', 'inherit'] });
  let port = 0;
  for (let i = 0; i < 400 && !port; i++) {
    if (fs.existsSync(portFile)) port = Number(fs.readFileSync(portFile, 'utf8').trim()) || 0;
    if (!port) await new Promise((res) => setTimeout(res, 50));
  }
  if (!port) throw new Error('aktsyncd (TLS) did not start');
  try {
    const browser = await H.launchBrowser();
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await page.goto(`https://127.0.0.1:${port}/healthz`);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    const onWire = new Map();
    cdp.on('Network.loadingFinished', (e) => onWire.set(e.requestId, e.encodedDataLength));
    const sent = new Map();
    cdp.on('Network.responseReceived', (e) => { if (e.response.url.includes('/v1/changes')) sent.set(e.requestId, e.response); });
    const feed = `/v1/changes?limit=5000&max_bytes=8388608&compact=2&echo=0`;
    const seen = [];
    page.on('response', async (x) => {
      if (!x.url().includes('/v1/changes')) return;
      seen.push({ asked: (await x.request().allHeaders())['accept-encoding'], coding: (await x.allHeaders())['content-encoding'] || 'identity' });
    });
    const got = await page.evaluate(async ([feed, token]) => {
      const r = await fetch(feed, { headers: { Authorization: 'Bearer ' + token }, cache: 'no-store' });
      const text = await r.text();
      return { status: r.status, chars: text.length, entries: JSON.parse(text).changes.length };
    }, [feed, token]);
    await new Promise((res) => setTimeout(res, 500));
    const wire = [...onWire.entries()].filter(([id]) => sent.has(id)).map(([, n]) => n);
    step(`chromium over HTTPS asked Accept-Encoding "${seen[0].asked}"; the feed page came ${seen[0].coding}: ${got.entries} entries, ${got.chars} chars of JSON, ${wire[0]} B on the wire (with headers)`);
    for (const accept of ['gzip, deflate, br, zstd', 'zstd', 'zstd, gzip;q=0.5', 'gzip', null]) {
      const x = await raw(port, feed, token, accept);
      step(`node, Accept-Encoding ${accept === null ? '(none)' : `"${accept}"`}: ${x.status} ${x.coding}, ${x.bytes} B of body`);
    }
    await browser.close();
  } finally {
    server.kill('SIGTERM');
  }
}

await H.run(main);
