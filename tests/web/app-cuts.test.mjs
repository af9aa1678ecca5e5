// Browser test of the tablet app on a link that cuts (PROTOCOL §1.1, §4.3, §5.1; issue "Sync over a bad rural
// link"): the tablet reaches aktsyncd through a proxy (cut-proxy.mjs) that cuts answers, as the aktsync client's
// tests do with its transport.
//   1. A feed answer cut after 60% of its body: the app keeps every record that arrived whole and asks the
//      rest with `after` = the last of them; it ends with every record, each received once, having fetched
//      far less than the page twice. The records' answers hold quotes, braces, brackets and backslashes.
//   2. A push whose answer is lost after the server committed it: the app asks GET /v1/push/{batch_id} and
//      applies the stored answer; no batch is uploaded twice; every record is on the server once and Synced.
//   2b. A feed answer 503 with Retry-After: the retry waits as long as the server asked.
//   2c. A silent link (a feed request answered with nothing) and a feed answer that stalls mid-body: the app
//      gives up on each after its stall deadline (set to 2 s here; 30 s by default), keeps what arrived whole
//      and retries, and the sync finishes.
//   3. A tab closed while its push was on the way: the reopened app asks the stored answer first too.
//   4. The server down for 18 s (longer than the six quick attempts the app used to make): the app says it
//      is waiting for the network, in the enumerator's language, and the sync finishes once the server is back
//      (at once when the browser reports the network back, not after the wait of 4-8 s it was in).
//   5. A photo upload on the same link (photos.js sends through sync.js's send()): the upload's creation held
//      unanswered and a chunk's answer stalled after its head are each given up at the stall deadline and
//      retried (after the stalled chunk from the server's offset, asked with HEAD: no byte sent twice); a chunk
//      answered 503 with Retry-After: 3 is sent again 3 s later.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import * as H from './harness.mjs';
import { TABLET, step, call, tablet, until } from './harness.mjs';
import { startCutProxy } from './cut-proxy.mjs';

const SEEDED = 300;
const scope = { municipality: 'gracanice', community: 'serb', component: 'SO1' };
const settlement = (i) => `Selo "${i}" {a} [b] \\ ${'}]'.repeat(i % 3)}`;
const DOWN_MS = 18000;

const flashText = (page) => page.locator('#flash').textContent();
const finished = /Synced|Sinkronizuar|Sinhronizovano|did not finish|nuk përfundoi|nije završena/;

// Clicks Sync on `page` and waits for the round's outcome, which must be a success (`during`, if given, runs
// once the round started).
async function syncOn(page, during) {
  await page.waitForFunction(() => !document.getElementById('sync').disabled && document.body.dataset.ready === '1');
  await page.evaluate(() => { document.getElementById('flash').textContent = ''; });
  await page.click('#sync');
  if (during) await during();
  await page.waitForFunction((re) => !document.getElementById('sync').disabled && new RegExp(re).test(document.getElementById('flash').textContent),
    finished.source, { timeout: 120000 });
  const flash = await flashText(page);
  assert.doesNotMatch(flash, /did not finish|nuk përfundoi|nije završena/, flash);
  return flash;
}

const stored = (page) => page.evaluate(() => window.AktStore.tx(['records', 'edits', 'batches', 'rejected'], 'readonly', async (s) => ({
  rejected: (await window.AktStore.all(s.rejected)).length,
  records: (await window.AktStore.all(s.records)).map((r) => ({ record: r.record, settlement: r.live[0].body.settlement_name })),
  unsent: (await window.AktStore.all(s.edits)).filter((e) => !e.acked_epoch).length,
  batches: (await window.AktStore.all(s.batches)).length,
})));

// The app's scanner of a streaming feed page (sync.js FeedScanner), without a browser: for every length a
// cut answer can have, given in pieces of every size from 1 byte, it finds exactly the entries that arrived
// whole, whatever their strings hold.
function checkScanner() {
  const sandbox = { window: { AktStore: {}, AktPhotos: {} } };
  vm.runInNewContext(fs.readFileSync(path.join(H.root, 'clients/web/sync.js'), 'utf8'), sandbox);
  const { FeedScanner } = sandbox.window.AktSync;
  const entries = [
    { record: 'a', seq: 7, live: [{ body: { s: 'quote " brace } bracket ] backslash \\ end', t: '\\"' } }] },
    { record: 'b', seq: 9, out_of_scope: true },
    { record: 'c', seq: 12, live: [{ body: { s: '{"not":["an","entry"]}', u: 'ü\u005c\u0022 ]}]}', n: [1, [2, [3]]] } }] },
    { record: 'd', seq: 15, live: [] },
  ];
  const texts = entries.map((e) => JSON.stringify(e));
  const page = `{"v":1,"epoch":"3f9a0c1d2e4b5a69","changes":[${texts.join(',')}],"next":"3f9a0c1d2e4b5a69-15-1","more":false}`;
  const ends = [];
  let at = page.indexOf('[') + 1;
  for (const t of texts) { at = page.indexOf(t, at) + t.length; ends.push(at); }
  for (let cut = 0; cut <= page.length; cut++) {
    for (const piece of [1, 3, 17, cut || 1]) {
      const scan = new FeedScanner();
      for (let i = 0; i < cut; i += piece) scan.push(page.slice(i, Math.min(cut, i + piece)));
      const want = texts.filter((_, i) => ends[i] <= cut);
      assert.deepEqual([...scan.entries()], want, `cut at ${cut}, pieces of ${piece}`);
      if (cut > page.indexOf('"changes":[') + 10) assert.equal(scan.epoch, '3f9a0c1d2e4b5a69');
    }
  }
  step(`feed scanner: ${page.length + 1} cut lengths x 4 piece sizes, the whole entries found exactly`);
}

async function main() {
  checkScanner();
  step('starting aktsyncd ' + H.binary);
  const admin = await H.startWithForms(['so1_interethnic_survey']);
  await H.addEnumerator(admin, 'enis', [scope]);
  let cutFeed = false, dropPush = false, holdPush = false, busyFeed = false, silentFeed = false, stallFeed = false, resumed = null;
  let silentUpload = false, stallChunk = false, busyChunk = false;
  let release = null;
  const released = new Promise((r) => { release = r; });
  const proxy = await startCutProxy({
    upstreamPort: () => H.port,
    decide: (e) => {
      if (cutFeed && e.path === '/v1/changes') { cutFeed = false; resumed = 'next'; return { cutBody: (h) => Math.floor(0.6 * Number(h.headers['content-length'])) }; }
      if (resumed === 'next' && e.path === '/v1/changes') { resumed = e; return { waitFor: released }; }
      if (busyFeed && e.path === '/v1/changes') {
        busyFeed = false;
        return { respond: { status: 503, headers: { 'Retry-After': '3', 'Content-Type': 'application/problem+json' },
                            body: '{"code":"busy","status":503,"title":"Service Unavailable","v":1}' } };
      }
      if (silentFeed && e.path === '/v1/changes') { silentFeed = false; return { hold: true }; }
      if (stallFeed && e.path === '/v1/changes') { stallFeed = false; return { stallBody: (h) => Math.floor(0.4 * Number(h.headers['content-length'])) }; }
      if (dropPush && e.method === 'POST' && e.path === '/v1/push') { dropPush = false; return { cutBody: 0 }; }
      if (holdPush && e.method === 'POST' && e.path === '/v1/push') { holdPush = false; return { hold: true }; }
      if (silentUpload && e.method === 'POST' && e.path === '/v1/uploads') { silentUpload = false; return { hold: true }; }
      if (stallChunk && e.method === 'PATCH') { stallChunk = false; return { stallBody: 5 }; }
      if (busyChunk && e.method === 'PATCH' && e.uploadOffset > 0) {
        busyChunk = false;
        return { respond: { status: 503, headers: { 'Retry-After': '3', 'Content-Type': 'application/problem+json' },
                            body: '{"code":"busy","status":503,"title":"Service Unavailable","v":1}' } };
      }
      return undefined;
    },
  });
  await H.launchBrowser();
  const T = await tablet(admin, 'enis', 'tablet-cuts', TABLET, { noGoto: true });
  await T.page.goto(proxy.base + '/app/');
  await T.page.locator('#code').waitFor();
  await T.page.fill('#code', T.code);
  await T.page.click('button[type=submit]');
  await T.page.locator('#new-record').waitFor();
  await H.synced(T);
  let page = T.page;

  // One record typed in and synced: its body is the template of the others.
  const first = await newSurvey(page, proxy.base);
  await H.fillSurveyNonInterview(page, 'Laplje Selo', 1);
  await page.click('#save');
  await page.locator(`a[data-record="${first}"][data-state="pending"]`).waitFor();
  await syncOn(page);
  const template = (await call('GET', '/v1/records/' + first, admin)).data.live[0].body;

  // ---- 1. A feed answer cut after 60% of its body. ----
  const seeded = await H.seedRecords(admin, 'enis', { form: 'so1_interethnic_survey', scope, template, count: SEEDED,
    vary: (i) => ({ hh_number: i + 2, settlement_name: settlement(i) }) });
  const had = await page.evaluate(async () => (await window.AktStore.tx(['records'], 'readonly', (s) => window.AktStore.all(s.records))).map((r) => r.seq));
  const from = proxy.log.length;
  cutFeed = true;
  const sync1 = syncOn(page);
  // While the resumed request waits at the proxy: the records that arrived whole are stored, the stored
  // cursor has not moved.
  await until(() => resumed && resumed !== 'next', 'the request after the cut');
  const during = await page.evaluate(async () => ({ cursor: await window.AktStore.meta('cursor'),
    records: (await window.AktStore.tx(['records'], 'readonly', (s) => window.AktStore.all(s.records))).map((r) => r.seq) }));
  release();
  const flash1 = await sync1;
  const feeds = proxy.log.slice(from).filter((e) => e.path === '/v1/changes');
  assert.ok(feeds[0].cut, 'the first feed answer was cut');
  assert.ok(!feeds[0].query.after, 'the first feed request starts the page');
  assert.match(feeds[1].query.after || '', /^\d+$/, 'the request after the cut resumes with `after`: ' + JSON.stringify(feeds[1].query));
  assert.equal(feeds[1].query.since, feeds[0].query.since, 'the cursor did not move: same `since`');
  assert.equal(during.cursor, feeds[0].query.since, 'the stored cursor stayed while the page was not finished');
  const kept = during.records.filter((q) => !had.includes(q)).sort((a, b) => a - b);
  assert.ok(kept.length > 0 && kept.length < SEEDED, `some records kept from the cut page: ${kept.length}`);
  assert.equal(kept[kept.length - 1], Number(feeds[1].query.after), '`after` is the last record stored');
  assert.equal(kept.length, kept[kept.length - 1] - kept[0] + 1, 'every record up to `after` stored, none skipped');
  assert.equal(feeds[1].status, 200);
  const fetched = feeds.reduce((n, e) => n + e.bytes, 0);
  const page1 = feeds[0].length;
  assert.ok(fetched < 1.3 * page1, `fetched ${fetched} bytes for a page of ${page1}: far less than the page twice`);
  assert.match(flash1, new RegExp(`\\b${SEEDED} record\\(s\\) received`), 'each record received once: ' + flash1);
  const held = await stored(page);
  const byId = new Map(held.records.map((r) => [r.record, r.settlement]));
  assert.equal(byId.size, SEEDED + 1, 'every record on the tablet');
  seeded.forEach((id, i) => assert.equal(byId.get(id), settlement(i), id));
  // The cursor moved only with the page's `next`: to the last record's seq, after every record was stored.
  const { cursor, top } = await page.evaluate(async () => ({ cursor: await window.AktStore.meta('cursor'),
    top: Math.max(...(await window.AktStore.tx(['records'], 'readonly', (s) => window.AktStore.all(s.records))).map((r) => r.seq)) }));
  assert.equal(Number(cursor.split('-')[1]), top, `cursor ${cursor} at the last record's seq ${top}`);
  step(`feed cut at ${feeds[0].bytes} of ${page1} bytes; resumed with after=${feeds[1].query.after}; ` +
       `${fetched} bytes fetched in all (${(fetched / page1).toFixed(2)} of the page); ${SEEDED} records, each once`);

  // ---- 2. A push answer lost after the server committed it. ----
  const firstN = await page.evaluate(async () => (await window.AktStore.tx(['kept', 'edits'], 'readonly', async (s) =>
    [...await window.AktStore.all(s.kept), ...await window.AktStore.all(s.edits)]))[0].n);
  const ours = await H.cloneEdits(page, firstN, 40, (i) => ({ hh_number: 400 + i, settlement_name: `Lost "${i}" ]}` }));
  const from2 = proxy.log.length;
  dropPush = true;
  await syncOn(page);
  const log2 = proxy.log.slice(from2);
  const posts = log2.filter((e) => e.method === 'POST' && e.path === '/v1/push');
  const asks = log2.filter((e) => e.method === 'GET' && e.path.startsWith('/v1/push/'));
  assert.ok(posts[0].cut, 'the first push answer was lost');
  assert.equal(asks.length, 1, 'the stored answer was asked once: ' + JSON.stringify(asks));
  assert.equal(decodeURIComponent(asks[0].path.slice('/v1/push/'.length)), posts[0].batchId, 'for the batch whose answer was lost');
  assert.equal(asks[0].status, 200);
  assert.equal(new Set(posts.map((e) => e.batchId)).size, posts.length, 'no batch uploaded twice: ' + posts.map((e) => e.batchId));
  step(`push answer lost: GET /v1/push/${posts[0].batchId} answered 200; ${posts.length} POST(s), one per batch`);

  // ---- 2b. 503 with Retry-After: 3 on the feed: the retry waits the 3 s (its own first wait is 125-250 ms),
  // and the status says the server is busy (not the network). ----
  const from2b = proxy.log.length;
  busyFeed = true;
  await syncOn(page, async () => {
    await until(async () => /The server is busy or unavailable \(status 503\), retrying/.test(await page.locator('#status').textContent()),
      'the status to say the server is busy', 8000);
  });
  const feeds2b = proxy.log.slice(from2b).filter((e) => e.path === '/v1/changes');
  assert.equal(feeds2b[0].status, 503);
  const gap = feeds2b[1].at - feeds2b[0].at;
  assert.ok(gap >= 3000 && gap < 8000, `the retry after 503 Retry-After: 3 came ${gap} ms later`);
  step(`503 with Retry-After: 3: retried ${gap} ms later, the status saying the server is busy`);

  // ---- 2c. A silent link, then an answer that stalls mid-body: each attempt ends at the stall deadline. ----
  const STALL = 2000;
  await page.evaluate((ms) => window.AktStore.setMeta({ stall_ms: ms }), STALL);
  const from2c = proxy.log.length;
  silentFeed = true;
  await syncOn(page);
  const feeds2c = proxy.log.slice(from2c).filter((e) => e.path === '/v1/changes');
  assert.equal(feeds2c[0].status, 200, 'the held request reached the server');
  assert.equal(feeds2c[0].bytes, 0, 'nothing of its answer was passed on');
  const silentGap = feeds2c[1].at - feeds2c[0].at;
  assert.ok(silentGap >= STALL && silentGap < STALL + 2500, `the app gave up on the silent answer after ${silentGap} ms`);
  const stalledSeeds = await H.seedRecords(admin, 'enis', { form: 'so1_interethnic_survey', scope, template, count: 60,
    vary: (i) => ({ hh_number: 700 + i, settlement_name: `Stall ${i}` }) });
  const from2d = proxy.log.length;
  stallFeed = true;
  const flash2d = await syncOn(page);
  const feeds2d = proxy.log.slice(from2d).filter((e) => e.path === '/v1/changes');
  assert.ok(feeds2d[0].stalled, 'the first feed answer stalled');
  const stallGap = feeds2d[1].at - feeds2d[0].at;
  assert.ok(stallGap >= STALL && stallGap < STALL + 2500, `the app gave up on the stalled answer after ${stallGap} ms`);
  assert.match(feeds2d[1].query.after || '', /^\d+$/, 'the retry resumes after what arrived whole: ' + JSON.stringify(feeds2d[1].query));
  assert.match(flash2d, /\b60 record\(s\) received/, 'each record received once: ' + flash2d);
  const held2d = new Set((await stored(page)).records.map((r) => r.record));
  for (const id of stalledSeeds) assert.ok(held2d.has(id), 'on the tablet: ' + id);
  await page.evaluate(() => window.AktStore.setMeta({ stall_ms: 0 }));  // the default (30 s) again
  step(`silent answer given up after ${silentGap} ms; stalled answer after ${stallGap} ms, resumed with after=${feeds2d[1].query.after}`);

  // ---- 3. The tab closed while its push was on the way. ----
  const more = await H.cloneEdits(page, firstN, 3, (i) => ({ hh_number: 500 + i, settlement_name: `Closed ${i}` }));
  const from3 = proxy.log.length;
  holdPush = true;
  await page.click('#sync');
  const held3 = await until(() => proxy.log.slice(from3).find((e) => e.method === 'POST' && e.path === '/v1/push' && e.status === 200),
    'the held push to be committed');
  await page.close();
  page = await T.context.newPage();
  page.on('pageerror', (e) => T.errors.push(String(e)));
  await page.goto(proxy.base + '/app/');  // the app syncs when it starts
  await until(() => proxy.log.slice(from3).find((e) => e.method === 'GET' && e.path === '/v1/push/' + encodeURIComponent(held3.batchId) && e.status === 200),
    'the reopened app to ask the stored answer');
  await page.waitForFunction(() => document.body.dataset.ready === '1' && !document.getElementById('sync').disabled);
  const posts3 = proxy.log.slice(from3).filter((e) => e.method === 'POST' && e.path === '/v1/push');
  assert.deepEqual(posts3.map((e) => e.batchId), [held3.batchId], 'the batch was uploaded once');
  step(`tab closed mid-push: the reopened app asked GET /v1/push/${held3.batchId} first, uploaded nothing again`);

  // ---- 4. The server down for longer than six quick attempts. ----
  const last = await H.cloneEdits(page, firstN, 2, (i) => ({ hh_number: 600 + i, settlement_name: `Down ${i}` }));
  await H.stopServer();
  const down = Date.now();
  await page.evaluate(() => { document.getElementById('flash').textContent = ''; });
  await page.click('#sync');
  const status = () => page.locator('#status').textContent();
  await until(async () => /Waiting for the network, retrying/.test(await status()), 'the status to say the app waits for the network');
  for (const [lang, text] of [['sq', /Në pritje të rrjetit, po provohet përsëri/], ['sr', /Čeka se mreža, ponovni pokušaj/]]) {
    await page.selectOption('#lang', lang);
    await until(async () => text.test(await status()), `the waiting status in ${lang}`, 15000);
  }
  await page.selectOption('#lang', 'en');
  await until(async () => /Waiting for the network, retrying/.test(await status()), 'the waiting status in en again', 15000);
  await H.shot(page, 'cuts-waiting');
  await new Promise((r) => setTimeout(r, Math.max(0, DOWN_MS - (Date.now() - down))));
  assert.equal(await page.locator('#sync').isDisabled(), true, 'still syncing after the server was down for 18 s');
  // The server comes back just after a failed attempt, when the app waits 4-8 s before the next; the browser
  // then reports the network back (offline, online), and the app retries at once.
  const mark = proxy.log.length;
  const failed = await until(() => proxy.log.slice(mark).find((e) => e.status === 0), 'a failed attempt', 10000);
  await H.startServer({ again: true });
  await T.context.setOffline(true);
  await T.context.setOffline(false);
  const answered = await until(() => proxy.log.slice(mark).find((e) => e.status >= 200), 'an answered request', 10000);
  assert.ok(answered.at - failed.at < 3500, `retried ${answered.at - failed.at} ms after the failed attempt: at once when the network is back`);
  await page.waitForFunction((re) => !document.getElementById('sync').disabled && new RegExp(re).test(document.getElementById('flash').textContent),
    finished.source, { timeout: 30000 });
  const flash4 = await flashText(page);
  assert.doesNotMatch(flash4, /did not finish/, flash4);
  step(`server down ${((Date.now() - down) / 1000).toFixed(1)} s: waited out, then synced (${flash4})`);

  // Everything on the server once, Synced on the tablet.
  const server = await H.serverRecords(admin, 'so1_interethnic_survey');
  const all = [first, ...seeded, ...stalledSeeds, ...ours, ...more, ...last];
  assert.deepEqual([...server.keys()].sort(), [...all].sort(), 'every record once on the server');
  for (const id of [...ours, ...more, ...last]) {
    const h = await call('GET', `/v1/records/${id}/history`, admin);
    if (h.status === 429) break;  // the admin API's rate limit: the list above already proved each is there once
    assert.equal(h.data.versions.length, 1, `one version of ${id}`);
  }
  assert.deepEqual(await stored(page).then((x) => ({ n: x.records.length, unsent: x.unsent, batches: x.batches, rejected: x.rejected })),
    { n: all.length, unsent: 0, batches: 0, rejected: 0 });
  const states = await page.evaluate(() => window.AktStore.tx(['summaries'], 'readonly', (s) => window.AktStore.all(s.summaries))
    .then((l) => [...new Set(l.map((x) => x.state))]));
  assert.deepEqual(states, ['synced']);
  assert.deepEqual(T.errors, []);
  step(`${all.length} records on the server once each; every one Synced on the tablet`);

  // ---- 5. A photo upload on the same link: the upload's requests have the sync's deadlines and Retry-After. ----
  await photoUpload(page, proxy, { silent: () => { silentUpload = true; }, stall: () => { stallChunk = true; }, busy: () => { busyChunk = true; } });
  assert.deepEqual(T.errors, []);
  await proxy.close();
}

// Section 5: a photo file of three chunks waits on the tablet (stored as the app's camera question stores one,
// referred to by a record as pulled), and the sync uploads it through the proxy, which holds the upload's
// creation unanswered (a silent link), stalls the first chunk's answer after its head (the chunk was stored),
// and answers the next chunk 503 with Retry-After: 3. With the stall deadline at 2 s: the silent answer and
// the stalled one are each given up about 2 s later and retried; after the stalled chunk the server's offset
// is asked (HEAD) and the upload goes on from it, so no byte is sent twice; the 503 is retried 3 s later. The
// server ends with the file (its digest checked) and the tablet marks it confirmed.
async function photoUpload(page, proxy, arm) {
  const STALL = 2000, CHUNK = 64 * 1024;
  const size = 2 * CHUNK + 1000;
  const bytes = crypto.randomBytes(size);
  bytes[0] = 0xff; bytes[1] = 0xd8; bytes[2] = 0xff;
  const digest = crypto.createHash('sha256').update(bytes).digest('hex');
  await page.evaluate(async ({ b64, digest, size }) => {
    const S = window.AktStore;
    const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).buffer;
    const ref = window.AktPhotos.makeRef(digest, size, 'image/jpeg');
    await S.tx(['blobs', 'blob_data', 'records'], 'readwrite', async (s) => {
      await window.AktPhotos.put(s, { digest, size, type: 'image/jpeg', data });
      s.records.put({ record: S.uuid7(), form: 'so1_interethnic_survey', form_version: 1, seq: 0, deleted: false, conflict: false,
                      live: [{ dot: { actor: 'elsewhere', n: 1 }, clock: { elsewhere: 1 }, body: { photo_context: ref } }] });
    });
    await S.setMeta({ stall_ms: 2000 });
  }, { b64: bytes.toString('base64'), digest, size });
  arm.silent();
  arm.stall();
  arm.busy();
  const from = proxy.log.length;
  await syncOn(page);
  const log = proxy.log.slice(from).filter((e) => e.path.startsWith('/v1/uploads'));
  const creates = log.filter((e) => e.method === 'POST');
  assert.ok(creates.length >= 2 && creates[0].bytes === 0, 'the first creation was held unanswered: ' + JSON.stringify(creates));
  const silentGap = creates[1].at - creates[0].at;
  assert.ok(silentGap >= STALL && silentGap < STALL + 2500, `the app gave up on the silent creation after ${silentGap} ms`);
  const patches = log.filter((e) => e.method === 'PATCH');
  assert.ok(patches[0].stalled, 'the first chunk\'s answer stalled');
  const afterStall = log.slice(log.indexOf(patches[0]) + 1);
  assert.equal(afterStall[0].method, 'HEAD', 'after the stalled chunk the offset was asked: ' + afterStall.map((e) => e.method));
  const stallGap = afterStall[0].at - patches[0].at;
  assert.ok(stallGap >= STALL && stallGap < STALL + 2500, `the app gave up on the stalled chunk after ${stallGap} ms`);
  assert.equal(patches[1].uploadOffset, CHUNK, 'the upload went on from the server\'s offset');
  assert.equal(patches[1].status, 503);
  const busyGap = patches[2].at - patches[1].at;
  assert.ok(busyGap >= 3000 && busyGap < 8000, `the chunk answered 503 with Retry-After: 3 was sent again ${busyGap} ms later`);
  assert.equal(patches[2].uploadOffset, CHUNK);
  const stored = patches.filter((e) => e.status === 200);
  assert.deepEqual(stored.map((e) => e.uploadOffset), [0, CHUNK, 2 * CHUNK], 'each chunk stored once');
  assert.equal(stored.reduce((a, e) => a + e.sent, 0), size, 'every byte crossed once');
  // The server holds the file whole, uploaded by this device (§14.3: not missing), checked against its digest.
  const missing = await page.evaluate(async (d) => {
    const device = await window.AktStore.meta('device');
    const r = await fetch('/v1/blobs/missing', { method: 'POST', body: JSON.stringify({ v: 1, digests: [d] }),
      headers: { Authorization: 'Bearer ' + device.token, 'Content-Type': 'application/json' } });
    return (await r.json()).missing;
  }, digest);
  assert.deepEqual(missing, [], 'the server holds the file');
  assert.equal(patches[patches.length - 1].status, 200);
  const row = await page.evaluate((d) => window.AktStore.tx(['blobs'], 'readonly', (s) => window.AktStore.get(s.blobs, d)), digest);
  assert.ok(!row || row.confirmed, 'the tablet marks the file confirmed (or freed it)');
  await page.evaluate(() => window.AktStore.setMeta({ stall_ms: 0 }));
  step(`photo upload: silent creation given up after ${silentGap} ms, stalled chunk after ${stallGap} ms (then HEAD, resumed at ${CHUNK}), ` +
       `503 Retry-After: 3 sent again after ${busyGap} ms; ${size} bytes, each once`);
}

// H.newSurvey at the proxy's address.
async function newSurvey(page, base) {
  await page.goto(base + '/app/#/');
  await page.click('#new-record');
  await page.click('button[data-form="so1_interethnic_survey"]');
  await page.click('#start');
  await H.q(page, 'survey_wave').waitFor();
  return page.url().split('#/r/')[1];
}

await H.run(main);
