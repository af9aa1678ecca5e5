// Benchmark of the enumerators' tablet app (issue "Performance"), driving the real app in Debian's chromium
// against a real aktsyncd on loopback. Not part of deploy/test.sh: it takes minutes. Run it from the
// repository after building aktsyncd (and `npm ci` in tests/web):
//
//   AKTSYNCD=$PWD/build/dev/server/aktsyncd node tests/bench/web/app-bench.mjs
//
// Environment: BENCH_RECORDS (records the tablet holds, default 50000), BENCH_SLOW (records synced over the
// slow link, default 1000), BENCH_RUNS (repetitions of the short measurements, default 3; medians are
// printed), BENCH_RATE_KBIT and BENCH_LATENCY_MS (the slow link, default 256 kbit/s and 300 ms), BENCH_SLOW_PULL
// (0: part c without the second tablet's pull), BENCH_SLOW_BASE (0: part c without its loopback run), BENCH_WARM (part c: records tablet A syncs over the link
// before the measured sync, after which the app is reopened, as a tablet that synced the day before;
// default 0), BENCH_PULL,
// BENCH_PULL_KBIT and BENCH_PULL_LATENCY_MS (part d: 10000 records, 1000 kbit/s, 100 ms), BENCH_PARTS (a
// subset of "form,many,pull,slow,upgrade"; the default leaves out upgrade). AKTSYNCD, CHROMIUM as in
// tests/web/harness.mjs.
// Every record of parts b, c and d is a varied interview (records.mjs, after clients/record_gen.cpp: about
// 2.1 KB of JSON, about 114 B gzipped in a stream of them), not a near-copy.
//
// (a) form: the largest instrument (the SO1 survey) under Chromium's 4x CPU throttling: the app's start
//     (reload to the list shown), time to the first question of a new record, time from an answer to the
//     question it makes relevant being shown (the app has one scrolling page per record: this is its "next
//     page"), and opening a saved record.
// (b) many: BENCH_RECORDS records of the tablet's scope pushed by another device, pulled into the app in one
//     sync (the time); the app started and the list shown, a search typed (the time of the app's work,
//     measured in the page; the first search of a page reads every record's search text, which the list
//     starts reading as it is shown; the read alone is timed too, against reading every summary);
//     IndexedDB bytes per record (navigator.storage.estimate(), growth during the pull) against the records'
//     JSON bytes.
// (c) slow: BENCH_SLOW records saved on a tablet and synced over the emulated link (CDP
//     Network.emulateNetworkConditions), and pulled by a second tablet over the same link, BENCH_RUNS
//     times (each run a user of its own scope, so the second tablet pulls that run's records alone), against
//     the time at the link's rate of (1) the records' own gzip bytes (their bodies, one a line, gzipped at
//     once, as tests/bench/link_bench.cpp) and (2) the bytes
//     moved: the push batches gzipped (200 edits each) and the answers' bytes on the wire (as CDP counted
//     them). Each run also prints the app's requests by route and the body bytes it sent, and the floor the
//     link sets for what the app moved: the bytes on the wire (bodies sent as sent, answers as CDP counted
//     them) at link rate plus one round trip (BENCH_LATENCY_MS) per request and one more.
// (d) pull: BENCH_PULL records of a scope of their own, pulled by a new tablet over an emulated 1 Mbit/s link
//     (the goal: the first 10,000 in under 5 minutes), against their own gzip bytes at that rate; the same
//     pull on loopback; IndexedDB growth per record against the records' JSON bytes (the goal: at most 1.5x).
// (e) upgrade: the local store's upgrade as the app starts, with BENCH_RECORDS records: they are pulled by a
//     tablet (a user of its own scope), its store is put back, in the page, as version 5 held it (records
//     and kept edits whole, a `search` store) and as version 6 held it (compressed, a `search` store beside
//     the search pack), and the app is started offline: the time from the app's open of its store to the
//     store open at its own version (the upgrade transaction committed), BENCH_RUNS times from each.
import zlib from 'node:zlib';
import * as H from '../../web/harness.mjs';
import { rng, surveyBody } from './records.mjs';
import { TABLET, step, call, tablet, enrol, syncNow, q } from '../../web/harness.mjs';

const RECORDS = Number(process.env.BENCH_RECORDS || 50000);
const SLOW = Number(process.env.BENCH_SLOW || 1000);
const RUNS = Number(process.env.BENCH_RUNS || 3);
const RATE = Number(process.env.BENCH_RATE_KBIT || 256) * 1000 / 8;  // bytes per second
const LATENCY = Number(process.env.BENCH_LATENCY_MS || 300);
const SLOW_PULL = process.env.BENCH_SLOW_PULL !== '0';  // part c: 0 leaves out the second tablet's pull
const WARM = Number(process.env.BENCH_WARM || 0);  // part c: records synced over the link before the measured sync
const PARTS = new Set((process.env.BENCH_PARTS || 'form,many,pull,slow').split(','));
const PULL = Number(process.env.BENCH_PULL || 10000);
const PULL_RATE = Number(process.env.BENCH_PULL_KBIT || 1000) * 1000 / 8;  // bytes per second
const PULL_LATENCY = Number(process.env.BENCH_PULL_LATENCY_MS || 100);
// The places of the benchmark's scopes, for varied bodies (records.mjs).
const GRACANICE = { municipality: 'gracanice', community: 'serb', settlements: ['Laplje Selo', 'Gračanica / Graçanicë', 'Livađe / Livadhe', 'Gušterica / Gushtericë', 'Preoce / Preoc'] };
const PRISHTINE = (community) => ({ municipality: 'prishtine', community, settlements: ['Prishtinë / Priština', 'Matiçan / Matičane', 'Kolovica / Kolović', 'Llukar / Lukare'] });
// The records' own gzip bytes: their bodies, one a line, gzipped at once (as tests/bench/link_bench.cpp).
const gzipOf = (bodies) => zlib.gzipSync(bodies.map((b) => JSON.stringify(b)).join('\n') + '\n', { level: 6 }).length;
const scope = { municipality: 'gracanice', community: 'serb', component: 'SO1' };
const cluster = (i) => `gracanice-${String(i % 100).padStart(2, '0')}`;  // the form's <municipality>-NN
const household = (i) => (Math.floor(i / 100) % 999) + 1;  // unique with the cluster for 99,900 records

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const ms = (x) => `${Math.round(x)} ms`;
const results = [];
function report(what, value) { results.push([what, value]); step(`${what}: ${value}`); }

async function timed(fn) { const t0 = performance.now(); await fn(); return performance.now() - t0; }

async function partForm(admin) {
  const T = await tablet(admin, 'enis', 'bench-form', TABLET);
  await enrol(T, T.code);
  const cdp = await T.context.newCDPSession(T.page);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  const start = [], first = [], next = [], open = [];
  let saved = null;
  for (let run = 0; run < RUNS; run++) {
    start.push(await timed(async () => {
      await T.page.goto(H.base + '/app/#/');
      await T.page.reload();
      await T.page.waitForFunction(() => document.body.dataset.ready === '1' && document.getElementById('new-record'));
    }));
    await H.synced(T);
    await T.page.click('#new-record');
    await T.page.click('button[data-form="so1_interethnic_survey"]');
    first.push(await timed(async () => { await T.page.click('#start'); await q(T.page, 'survey_wave').waitFor(); }));
    await H.fillSurveyNonInterview(T.page, 'Laplje Selo', run + 1);
    // An answer that opens the interview part: from the answer to its first question shown.
    next.push(await timed(async () => {
      await H.pick(T.page, 'respondent_available', 'yes');
      await q(T.page, 'interview_language').waitFor({ state: 'visible' });
    }));
    await H.pick(T.page, 'respondent_available', 'no');
    await H.pick(T.page, 'not_interviewed_reason', 'nobody_home');
    await H.pick(T.page, 'interview_outcome', 'no_contact');
    saved = saved || T.page.url().split('#/r/')[1];
    await T.page.click('#save');
    await T.page.locator(`a[data-record="${saved}"]`).waitFor();
    open.push(await timed(async () => { await T.page.click(`a[data-record="${saved}"]`); await q(T.page, 'survey_wave').waitFor(); }));
  }
  report('(a) app start to the list, 4x CPU throttling (median)', ms(median(start)));
  report('(a) new SO1 survey: Start to the first question, 4x throttling (median)', ms(median(first)));
  report('(a) an answer to the question it makes relevant shown, 4x throttling (median)', ms(median(next)));
  report('(a) opening a saved SO1 survey, 4x throttling (median)', ms(median(open)));
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
  await syncNow(T);
  const template = (await call('GET', '/v1/records/' + saved, admin)).data.live[0].body;
  await T.context.close();
  return template;
}

async function partMany(admin) {
  let ids = [];
  const r = rng(50);
  const seedTime = await timed(async () => {
    ids = await H.seedRecords(admin, 'enis', { form: 'so1_interethnic_survey', scope, template: {},
      vary: (i) => ({ ...surveyBody(r, i, GRACANICE), cluster_id: cluster(i), hh_number: household(i) }), count: RECORDS });
  });
  step(`${RECORDS} records seeded through the API in ${ms(seedTime)}`);
  const T = await tablet(admin, 'enis', 'bench-many', TABLET);
  T.page.setDefaultTimeout(1800000);  // 50,000 records: the waits below are what is measured
  const usage = () => T.page.evaluate(async () => (await navigator.storage.estimate()).usage);
  const empty = await usage();
  // Enrolment starts the first sync: it pulls every record of the scope. From the click to the round's end.
  await T.page.fill('#code', T.code);
  const pull = await timed(async () => {
    await T.page.click('button[type=submit]');
    await T.page.locator('#new-record').waitFor();
    await T.page.waitForFunction(() => /Synced/.test(document.getElementById('flash').textContent) &&
      !document.getElementById('sync').disabled, null, { timeout: 0, polling: 500 });
  });
  const after = await usage();
  const stored = await T.page.evaluate(() => window.AktStore.tx(['records'], 'readonly', async (s) => {
    const all = await window.AktStore.all(s.records);
    return { n: all.length, json: all.reduce((a, r) => a + JSON.stringify(r).length, 0),
             body: all.reduce((a, r) => a + r.live.reduce((b, v) => b + JSON.stringify(v.body).length, 0), 0) };
  }));
  report(`(b) pull of ${stored.n} records (one sync, loopback)`, `${ms(pull)} (${(stored.n / pull * 1000).toFixed(0)} records/s)`);
  report('(b) records JSON bytes per record (as pulled; bodies alone)', `${(stored.json / stored.n).toFixed(0)} B (${(stored.body / stored.n).toFixed(0)} B)`);
  report('(b) IndexedDB growth per record (storage.estimate during the pull)', `${((after - empty) / stored.n).toFixed(0)} B = ${((after - empty) / stored.json).toFixed(2)}x the JSON bytes`);
  report('(b) storage.estimate usage before the enrolment / after the pull', `${empty} / ${after} B`);

  const list = [], start = [], search = [], searchMany = [], searchNone = [], openRec = [], summariesRead = [], packRead = [], firstKey = [];
  await T.context.setOffline(true);  // no sync round runs meanwhile (the app syncs as it starts when online)
  for (let run = 0; run < RUNS; run++) {
    // Opening the app (a reload) to the first rows of the list.
    await T.page.goto(H.base + '/app/#/');
    start.push(await timed(async () => {
      await T.page.reload();
      await T.page.locator('#records a.record').first().waitFor();
    }));
    list.push(await timed(async () => {
      await T.page.goto(H.base + '/app/#/new');
      await T.page.locator('button[data-form]').first().waitFor();
      await T.page.goto(H.base + '/app/#/');
      await T.page.locator('#records a.record').first().waitFor();
    }));
    // The app's work for one keystroke (filter every record, lay out the window), timed in the page: from
    // the input event to the list's rows replaced and laid out.
    const typed = (text) => T.page.evaluate((text) => new Promise((resolve) => {
      const s = document.getElementById('search');
      const list = document.getElementById('records');
      const t0 = performance.now();
      const seen = new MutationObserver(() => {
        seen.disconnect();
        void list.getBoundingClientRect().height;  // layout included
        resolve(performance.now() - t0);
      });
      seen.observe(list, { childList: true });
      s.value = text;
      s.dispatchEvent(new Event('input'));
    }), text);
    searchMany.push(await typed('cluster_id: ' + cluster(17 + run)));
    // The first keystroke at once after the app started (a reload, the list's first rows shown): the search
    // copy may still be being read (the pack and the texts logged after it).
    await T.page.reload();
    await T.page.locator('#records a.record').first().waitFor();
    firstKey.push(await typed('cluster_id: ' + cluster(20 + run)));
    // What the first search of a page reads, alone: the search pack and the texts logged after it
    // (S.readSearch()), against every summary (what it read before the search texts were stored).
    const readTimes = await T.page.evaluate(async () => {
      const S = window.AktStore;
      const t0 = performance.now();
      await S.tx(['search_pack', 'search_log'], 'readonly', (s) => S.readSearch(s));
      const t1 = performance.now();
      await S.tx(['summaries'], 'readonly', (s) => S.all(s.summaries));
      return [t1 - t0, performance.now() - t1];
    });
    packRead.push(readTimes[0]);
    summariesRead.push(readTimes[1]);
    searchNone.push(await typed('no-such-text'));
    search.push(await typed(ids[17 + run].slice(-8)));
    openRec.push(await timed(async () => { await T.page.click('#records a.record'); await q(T.page, 'cluster_id').waitFor(); }));
  }
  await T.context.setOffline(false);
  report(`(b) app start (reload, offline) to the list with ${stored.n} records (median)`, ms(median(start)));
  report(`(b) list shown with ${stored.n} records (navigation to the list, median)`, ms(median(list)));
  report('(b) search keystroke, one match: the end of a record id (in-page time incl. layout, median)', ms(median(search)));
  report(`(b) search keystroke, one cluster: ${Math.ceil(RECORDS / 100)} matches (median)`, ms(median(searchMany)));
  report('(b) search keystroke, no match (median)', ms(median(searchNone)));
  report('(b) first search keystroke at once after the app started (the search copy being read, median)', ms(median(firstKey)));
  report(`(b) reading the search pack (what the first search of a page reads, with the texts logged since; read as the list is shown) (median)`, ms(median(packRead)));
  report(`(b) reading every summary instead (what the first search read before, median)`, ms(median(summariesRead)));
  report('(b) opening a record from the search (median)', ms(median(openRec)));
  await T.context.close();
}

// Network conditions for the page (throughput in bytes/s).
async function slowLink(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  let received = 0, feed = 0;
  const feedIds = new Set();
  cdp.on('Network.requestWillBeSent', (e) => { if (e.request.url.includes('/v1/changes')) feedIds.add(e.requestId); });
  cdp.on('Network.loadingFinished', (e) => { received += e.encodedDataLength; if (feedIds.has(e.requestId)) feed += e.encodedDataLength; });
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: LATENCY, downloadThroughput: RATE, uploadThroughput: RATE });
  return { received: () => received, feed: () => feed,
           off: () => cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 }) };
}

// Counts the app's requests and the body bytes it sends (as sent: gzipped pushes are counted gzipped), by
// route, from inside the page (the app calls the global fetch).
async function countRequests(page) {
  await page.evaluate(() => {
    const f = window.fetch;
    window.__net = { requests: 0, up: 0, routes: {} };
    window.fetch = (input, init = {}) => {
      const b = init.body;
      const n = window.__net;
      n.requests++;
      n.up += !b ? 0 : typeof b === 'string' ? new TextEncoder().encode(b).length : (b.byteLength ?? b.size ?? 0);
      const route = `${init.method || 'GET'} ${String(input).split('?')[0].replace(/[0-9a-f]{8}-[0-9a-f-]{27}/, '{id}')}`;
      n.routes[route] = (n.routes[route] || 0) + 1;
      return f(input, init);
    };
  });
  return () => page.evaluate(() => window.__net);
}
const routes = (net) => Object.entries(net.routes).map(([r, n]) => `${r} x${n}`).join(', ');

// A tablet of vesa holding `count` new SO1 surveys (one typed, the rest saved the same way); returns it
// with the gzipped bytes of the push batches the app will form from them.
async function slowTablet(admin, name, count, user = 'vesa', warm = 0) {
  const A = await tablet(admin, user, name, TABLET);
  await enrol(A, A.code);
  await syncNow(A);  // the enrolment's round has ended (the forms are on the tablet)
  const first = await H.newSurvey(A.page);
  await H.pick(A.page, 'survey_wave', 'baseline');
  await H.fill(A.page, 'cluster_id', 'prishtine-00');
  await H.fill(A.page, 'hh_number', 1);
  await H.fill(A.page, 'settlement_name', 'Prishtinë');
  await H.pick(A.page, 'settlement_type', 'urban');
  await H.fill(A.page, 'visit_attempt', 1);
  await H.pick(A.page, 'respondent_available', 'no');
  await H.pick(A.page, 'not_interviewed_reason', 'nobody_home');
  await H.pick(A.page, 'interview_outcome', 'no_contact');
  await A.page.click('#save');
  await A.page.locator(`a[data-record="${first}"]`).waitFor();
  const n = await A.page.evaluate(async () => (await window.AktStore.tx(['edits'], 'readonly', (s) => window.AktStore.all(s.edits)))[0].n);
  // The others: varied interviews (records.mjs), saved as the app's Save does.
  const r = rng(count + name.length);
  const community = await A.page.evaluate(async (n) => (await window.AktStore.tx(['edits'], 'readonly', (s) => window.AktStore.get(s.edits, n))).scope.community, n);
  // With `warm`, the typed record goes in the earlier sync: the measured one has `count` varied records.
  const others = Array.from({ length: warm > 0 ? count : count - 1 }, (_, i) => surveyBody(r, i + 1, PRISHTINE(community)));
  if (warm > 0) {
    // An earlier sync over the same link (the day before): the typed record and `warm` records of other
    // households synced, then the app reopened (what it measured in memory is gone, what it keeps in its
    // store is not) and synced again (the round it starts with, and one more), all over the link.
    await saveBodies(A.page, n, Array.from({ length: warm }, (_, i) => surveyBody(r, count + 1 + i, PRISHTINE(community))));
    const link = await slowLink(A.context, A.page);
    await syncNow(A);
    await A.page.reload();
    await syncNow(A);
    await link.off();
  }
  await saveBodies(A.page, n, others);
  const texts = await A.page.evaluate(async () => (await window.AktStore.tx(['edits'], 'readonly', (s) => window.AktStore.all(s.edits)))
    .filter((e) => !e.acked_epoch).sort((a, b) => a.n - b.n).map((e) => e.text));
  let pushBytes = 0;
  for (let i = 0; i < texts.length; i += 200) pushBytes += zlib.gzipSync(`{"batch_id":"app-00000000-1","edits":[${texts.slice(i, i + 200).join(',')}],"v":1}`).length;
  // The records' own gzip bytes (their bodies, one a line, gzipped at once): the floor any protocol is
  // measured against (as tests/bench/link_bench.cpp).
  const bodies = await A.page.evaluate(async () => (await window.AktStore.tx(['edits'], 'readonly', (s) => window.AktStore.all(s.edits)))
    .filter((e) => !e.acked_epoch).map((e) => window.AktStore.canonical(e.body)).join('\n') + '\n');
  const ownBytes = zlib.gzipSync(bodies, { level: 6 }).length;
  return { A, pushBytes, ownBytes };
}

// Saves each of `bodies` as a new record on the tablet, as the app's Save does (one dot each, in the outbox),
// with the form, version and scope of the tablet's edit `template` (a record number).
async function saveBodies(page, template, bodies) {
  for (let i = 0; i < bodies.length; i += 500) {
    await page.evaluate(async ({ template, bodies }) => {
      const S = window.AktStore;
      const e = await S.tx(['edits', 'kept'], 'readonly', async (s) => (await S.get(s.edits, template)) || S.get(s.kept, template));
      for (const body of bodies) {
        await S.saveEdit({ record: S.uuid7(), form: e.form, form_version: e.form_version, scope: e.scope, body,
                           changed: S.changedPaths({}, body, null), context: {} });
      }
    }, { template, bodies: bodies.slice(i, i + 500) });
  }
}

// (d) pull: PULL varied records of a scope of their own pushed by another device; a tablet enrols and pulls
// them over an emulated PULL_RATE link (the time, against the time their own gzip bytes need at that rate and
// against the bytes moved), then the same on loopback (the app's and the server's own time), and the storage
// the tablet's IndexedDB grew by per record against the records' JSON bytes (navigator.storage.estimate()).
async function partPull(admin) {
  const user = 'pia';
  const pscope = { municipality: 'prishtine', community: 'gorani', component: 'SO1' };
  await H.addEnumerator(admin, user, [pscope]);
  const r = rng(10);
  const bodies = Array.from({ length: PULL }, (_, i) => surveyBody(r, i, PRISHTINE('gorani')));
  await H.seedRecords(admin, user, { form: 'so1_interethnic_survey', scope: pscope, template: {}, count: PULL, vary: (i) => bodies[i] });
  const own = gzipOf(bodies);
  const ownMs = own / PULL_RATE * 1000;
  step(`${PULL} varied records seeded: their own gzip bytes ${own} B (${(own / PULL).toFixed(0)} B/record), ${ms(ownMs)} at ${PULL_RATE * 8 / 1000} kbit/s`);
  const pullOnce = async (name, link) => {
    const B = await tablet(admin, user, name, TABLET);
    B.page.setDefaultTimeout(1800000);
    const usage = () => B.page.evaluate(async () => (await navigator.storage.estimate()).usage);
    const empty = await usage();
    const net = await countRequests(B.page);
    let emu = null;
    if (link) {
      const cdp = await B.context.newCDPSession(B.page);
      await cdp.send('Network.enable');
      let received = 0;
      cdp.on('Network.loadingFinished', (e) => { received += e.encodedDataLength; });
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: PULL_LATENCY, downloadThroughput: PULL_RATE, uploadThroughput: PULL_RATE });
      emu = { received: () => received };
    }
    await B.page.fill('#code', B.code);
    const t = await timed(async () => {
      await B.page.click('button[type=submit]');
      await B.page.locator('#new-record').waitFor();
      await B.page.waitForFunction(() => /Synced/.test(document.getElementById('flash').textContent) &&
        !document.getElementById('sync').disabled, null, { timeout: 0, polling: 250 });
    });
    const n = await net();
    const got = emu ? emu.received() : 0;
    const stored = await B.page.evaluate(() => window.AktStore.tx(['records'], 'readonly', async (s) => {
      const all = await window.AktStore.all(s.records);
      return { n: all.length, json: all.reduce((a, x) => a + JSON.stringify(x).length, 0),
               body: all.reduce((a, x) => a + x.live.reduce((b, v) => b + JSON.stringify(v.body).length, 0), 0) };
    }));
    // The estimate after Chromium's store settled (its log written into tables): read until it stops changing.
    let after = await usage();
    for (let i = 0; i < 10; i++) {
      await new Promise((res) => setTimeout(res, 1000));
      const u = await usage();
      if (u === after) break;
      after = u;
    }
    const parts = await H.storeBreakdown(B.page);
    await B.context.close();
    return { t, n, got, stored, grew: after - empty, parts };
  };
  const slow = [], fast = [];
  for (let run = 0; run < Math.max(1, Math.min(RUNS, 2)); run++) {
    slow.push(await pullOnce(`bench-pull-slow${run}`, true));
    fast.push(await pullOnce(`bench-pull-fast${run}`, false));
  }
  const s0 = slow[0];
  report(`(d) enrol + pull of ${s0.stored.n} varied records at ${PULL_RATE * 8 / 1000} kbit/s, ${PULL_LATENCY} ms (median of ${slow.length})`,
    `${ms(median(slow.map((x) => x.t)))}; ratio to their own gzip bytes ${(median(slow.map((x) => x.t)) / ownMs).toFixed(2)}`);
  report(`(d) its bytes received (on the wire)`, `${s0.got} B (${(s0.got / PULL).toFixed(0)} B/record): ${ms(s0.got / PULL_RATE * 1000)} at link rate; ${s0.n.requests} requests: ${routes(s0.n)}`);
  report(`(d) the same pull on loopback (the app's and the server's own time, median of ${fast.length})`, ms(median(fast.map((x) => x.t))));
  report(`(d) records JSON bytes per record (as stored; bodies alone)`, `${(s0.stored.json / s0.stored.n).toFixed(0)} B (${(s0.stored.body / s0.stored.n).toFixed(0)} B)`);
  report(`(d) local store version ${s0.parts.version}: rows and bytes per object store (values and keys as stored, per record)`,
    Object.entries(s0.parts.stores).filter(([, x]) => x.rows).map(([n, x]) => `${n} ${x.rows} rows ${(x.bytes / s0.stored.n).toFixed(0)} B`).join(', '));
  for (const [what, x] of [['slow', s0], ['loopback', fast[0]]]) {
    report(`(d) IndexedDB growth per record (storage.estimate, ${what} pull)`, `${(x.grew / x.stored.n).toFixed(0)} B = ${(x.grew / x.stored.json).toFixed(2)}x the records' JSON bytes`);
  }
  const ratios = [...slow, ...fast].map((x) => x.grew / x.stored.json);
  report(`(d) IndexedDB growth against the records' JSON bytes (median of every pull above, ${ratios.length})`,
    `${median(ratios).toFixed(2)}x (${ratios.map((x) => x.toFixed(2)).join(', ')})`);
}

// One run of (c): tablet A pushes SLOW new records over the link, then tablet B enrols and pulls them.
// Each run has a user of its own scope (another community), so that tablet B pulls this run's records alone.
const COMMUNITIES = ['serb', 'bosniak', 'turkish', 'roma', 'ashkali', 'egyptian', 'gorani', 'montenegrin', 'croat'];
async function slowRun(admin, run) {
  const user = `vesa${run}`;
  await H.addEnumerator(admin, user, [{ municipality: 'prishtine', community: COMMUNITIES[run % COMMUNITIES.length], component: 'SO1' }]);
  const { A, pushBytes, ownBytes } = await slowTablet(admin, `bench-slow-a${run}`, SLOW, user, WARM);
  const own = ownBytes / RATE * 1000;
  const netA = await countRequests(A.page);
  const linkA = await slowLink(A.context, A.page);
  const sync = await timed(() => syncNow(A));
  const down = linkA.received(), feedDown = linkA.feed();
  await linkA.off();
  const a = await netA();
  const ideal = (pushBytes + down) / RATE * 1000;
  // The floor the link sets for what the app moved: its bytes at link rate, a round trip per request and one more.
  const floor = (a.up + down) / RATE * 1000 + (a.requests + 1) * LATENCY;
  report(`(c) run ${run + 1}: sync of ${SLOW} new records at ${RATE * 8 / 1000} kbit/s, ${LATENCY} ms`, ms(sync));
  report(`(c) run ${run + 1}: the records' own gzip bytes`, `${ownBytes} B (${(ownBytes / SLOW).toFixed(0)} B/record): ${ms(own)} at link rate; ratio ${(sync / own).toFixed(2)}`);
  report(`(c) run ${run + 1}: its bytes: sent (as sent) + received (on the wire)`, `${a.up} + ${down} B (${((a.up + down) / SLOW).toFixed(0)} B/record; of them the feed's ${feedDown} B); ${a.requests} requests: ${routes(a)}`);
  report(`(c) run ${run + 1}: against its 200-edit batches gzipped + received`, `${pushBytes} + ${down} B: ${ms(ideal)} at link rate; ratio ${(sync / ideal).toFixed(2)}`);
  report(`(c) run ${run + 1}: the floor for what it moved (bytes on the wire at link rate + ${a.requests + 1} x ${LATENCY} ms)`,
    `${ms(floor)} = ${(floor / own).toFixed(2)}x the records' own gzip time; the sync took ${(sync / floor).toFixed(2)}x the floor`);

  const result = { sync, syncRatio: sync / own, bytesRatio: sync / ideal, down, feedDown, requests: a.requests,
                   up: a.up, floorRatio: floor / own, overFloor: sync / floor };
  if (!SLOW_PULL) { await A.context.close(); return result; }
  const B = await tablet(admin, user, `bench-slow-b${run}`, TABLET);
  const netB = await countRequests(B.page);
  const linkB = await slowLink(B.context, B.page);
  await B.page.fill('#code', B.code);
  const pull = await timed(async () => { await B.page.click('button[type=submit]'); await B.page.locator('#new-record').waitFor(); await H.synced(B); });
  const got = linkB.received();
  const b = await netB();
  const idealPull = got / RATE * 1000;
  const have = await B.page.evaluate(() => window.AktStore.tx(['records'], 'readonly', (s) => window.AktStore.all(s.records)).then((l) => l.length));
  report(`(c) run ${run + 1}: enrol + first pull of ${have} records over the same link`, `${ms(pull)}; ratio to the ${SLOW} records' own gzip bytes ${(pull / own).toFixed(2)}`);
  report(`(c) run ${run + 1}: its bytes received (on the wire)`, `${got} B: ${ms(idealPull)} at link rate; ratio ${(pull / idealPull).toFixed(2)}; ${b.requests} requests: ${routes(b)}`);
  await A.context.close();
  await B.context.close();
  return { ...result, pull, pullRatio: pull / own };
}

async function partSlow(admin) {
  await H.addEnumerator(admin, 'vesa', [{ municipality: 'prishtine', community: 'albanian', component: 'SO1' }]);
  // The same work without the emulated link first: what the app and the server take on this machine
  // (BENCH_SLOW_BASE=0 leaves it out).
  if (process.env.BENCH_SLOW_BASE !== '0') {
    const base = await slowTablet(admin, 'bench-fast', SLOW);
    const fast = await timed(() => syncNow(base.A));
    report(`(c) sync of ${SLOW} new records on loopback, no emulated link (the machine's own time)`, ms(fast));
    await base.A.context.close();
  }
  const runs = [];
  for (let run = 0; run < RUNS; run++) runs.push(await slowRun(admin, run));
  const m = (k) => median(runs.map((r) => r[k]));
  const span = (k, f = (x) => x.toFixed(2)) => `${f(m(k))} (${f(Math.min(...runs.map((r) => r[k])))}-${f(Math.max(...runs.map((r) => r[k])))})`;
  report(`(c) sync of ${SLOW} new records at ${RATE * 8 / 1000} kbit/s, ${LATENCY} ms${WARM ? ` after a sync of ${WARM}` : ''} (median of ${RUNS}, min-max)`, `${span('sync', ms)}; ratio to the records' own gzip bytes ${span('syncRatio')} (to the bytes moved ${span('bytesRatio')}); sent ${span('up', String)} B, received ${span('down', String)} B, of them the feed's ${span('feedDown', String)} B; ${span('requests', String)} requests`);
  report(`(c) the floor for what it moved, in the records' own gzip time (median of ${RUNS}, min-max)`, `${span('floorRatio')}; the sync took ${span('overFloor')}x its floor`);
  if (SLOW_PULL) report(`(c) enrol + first pull of them (median of ${RUNS}, min-max)`, `${span('pull', ms)}; ratio to the records' own gzip bytes ${span('pullRatio')}`);
}

// Puts the tablet's store back as version `version` (5 or 6) held it, in a page of the server outside the
// app (no connection open): every row of every store (records and kept edits whole for version 5), the
// `search` store made from the summaries, an empty search log and no pack (the app's first search made one).
// store.js is loaded into the page for its codec.
async function putBackAs(page, version, storeJs) {
  await page.goto(H.base + '/healthz');
  await page.evaluate(storeJs);
  await H.defineOldLayout(page);
  return page.evaluate((version) => new Promise((resolve, reject) => {
    const S = window.AktStore;
    const fail = (e) => reject(new Error(String(e)));
    const open = indexedDB.open('aktsync-app');
    open.onerror = () => fail(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const names = [...db.objectStoreNames].filter((n) => !['search', 'search_log', 'search_pack'].includes(n));
      const t = db.transaction(names, 'readonly');
      const rows = {};
      for (const n of names) { const r = t.objectStore(n).getAll(); r.onsuccess = () => { rows[n] = r.result; }; }
      t.oncomplete = () => { db.close(); write(rows); };
      t.onerror = () => fail(t.error);
    };
    function write(rows) {
      const dicts = new Map((rows.dicts || []).map((d) => [d.id, d]));
      const whole = (x) => {
        if (!(x.z instanceof Uint8Array)) return x;
        const out = JSON.parse(new TextDecoder().decode(S.lzUnpack(dicts.get(x.d).bytes, x.z)));
        for (const [k, v] of Object.entries(x)) if (k !== 'd' && k !== 'z') out[k] = v;
        return out;
      };
      if (version < 6) delete rows.dicts;
      const del = indexedDB.deleteDatabase('aktsync-app');
      del.onerror = () => fail(del.error);
      del.onblocked = () => fail('blocked');
      del.onsuccess = () => {
        const o = indexedDB.open('aktsync-app', version);
        o.onupgradeneeded = () => window.oldLayout(o.result, version);
        o.onerror = () => fail(o.error);
        o.onsuccess = async () => {
          const db = o.result;
          const put = (store, list, fn) => new Promise((res, rej) => {
            const t = db.transaction([store], 'readwrite');
            for (const x of list) fn(t.objectStore(store), x);
            t.oncomplete = res;
            t.onerror = () => rej(t.error);
          });
          try {
            for (const [n, list] of Object.entries(rows)) {
              for (let i = 0; i < list.length; i += 2000) {
                await put(n, list.slice(i, i + 2000), (os, x) => os.put(version < 6 && (n === 'records' || n === 'kept') ? whole(x) : x));
              }
            }
            for (let i = 0; i < rows.summaries.length; i += 5000) {
              await put('search', rows.summaries.slice(i, i + 5000), (os, x) => os.put(S.searchText(x), x.record));
            }
            db.close();
            resolve({ version, records: rows.records.length, kept: (rows.kept || []).length });
          } catch (e) { fail(e); }
        };
      };
    }
  }), version);
}

async function partUpgrade(admin) {
  const user = 'uma';
  const uscope = { municipality: 'prishtine', community: 'serb', component: 'SO1' };
  await H.addEnumerator(admin, user, [uscope]);
  const r = rng(60);
  await H.seedRecords(admin, user, { form: 'so1_interethnic_survey', scope: uscope, template: {}, count: RECORDS,
    vary: (i) => surveyBody(r, i, PRISHTINE('serb')) });
  step(`${RECORDS} records seeded for the upgrade`);
  const T = await tablet(admin, user, 'bench-upgrade', TABLET);
  T.page.setDefaultTimeout(1800000);
  // The app's open of its store at its version: from the open to its success, when an upgrade ran.
  await T.context.addInitScript(() => {
    const open = IDBFactory.prototype.open;
    IDBFactory.prototype.open = function (...args) {
      const req = open.apply(this, args);
      if (args[0] === 'aktsync-app' && args[1] && location.pathname.startsWith('/app/')) {
        const t0 = performance.now();
        let from = null;
        req.addEventListener('upgradeneeded', (e) => { from = e.oldVersion; });
        req.addEventListener('success', () => { if (from !== null) window.__upgrade = { from, to: req.result.version, ms: performance.now() - t0 }; });
      }
      return req;
    };
  });
  await T.page.fill('#code', T.code);
  const pull = await timed(async () => {
    await T.page.click('button[type=submit]');
    await T.page.locator('#new-record').waitFor();
    await T.page.waitForFunction(() => /Synced/.test(document.getElementById('flash').textContent) &&
      !document.getElementById('sync').disabled, null, { timeout: 0, polling: 500 });
  });
  step(`pulled in ${ms(pull)}`);
  const storeJs = await (await fetch(H.base + '/app/store.js')).text();
  const times = {};
  for (let run = 0; run < RUNS; run++) {
    // From version 5 and from 6, each older than the app's own (an app of version 6 is timed from 5 alone).
    for (const version of [5, 6].filter((v) => v < Number(/DB_VERSION = (\d+)/.exec(storeJs)[1]))) {
      await T.page.goto('about:blank');  // the app left before the store is put back (and starts no sync)
      const made = await putBackAs(T.page, version, storeJs);
      if (run === 0) step(`the store put back as version ${version} held it: ${made.records} records, ${made.kept} kept edits`);
      await T.page.goto('about:blank');
      await T.context.setOffline(true);  // the app starts offline: no sync round meanwhile
      await T.page.goto(H.base + '/app/#/');
      await T.page.waitForFunction(() => window.__upgrade && document.body.dataset.ready === '1', null, { timeout: 0, polling: 250 });
      const u = await T.page.evaluate(() => window.__upgrade);
      const key = `${u.from} -> ${u.to}`;
      (times[key] = times[key] || []).push(u.ms);
      step(`upgrade ${key} with ${made.records} records: ${ms(u.ms)}`);
      await T.page.goto('about:blank');
      await T.context.setOffline(false);
    }
  }
  for (const [key, list] of Object.entries(times)) report(`(e) upgrade of the local store ${key} with ${RECORDS} records at the app's start (median of ${list.length})`, ms(median(list)));
  await T.context.close();
}

async function main() {
  step('starting aktsyncd ' + H.binary);
  const admin = await H.startWithForms(['so1_interethnic_survey']);
  await H.addEnumerator(admin, 'enis', [scope]);
  await H.launchBrowser();
  if (PARTS.has('form')) await partForm(admin);
  if (PARTS.has('many')) await partMany(admin);
  if (PARTS.has('pull')) await partPull(admin);
  if (PARTS.has('slow')) await partSlow(admin);
  if (PARTS.has('upgrade')) await partUpgrade(admin);
  console.log('\nResults:');
  for (const [what, value] of results) console.log(`  ${what}: ${value}`);
}

await H.run(main);
