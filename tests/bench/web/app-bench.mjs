// Benchmark of the enumerators' tablet app (issue "Performance"), driving the real app in Debian's chromium
// against a real aktsyncd on loopback. Not part of deploy/test.sh: it takes minutes. Run it from the
// repository after building aktsyncd (and `npm ci` in tests/web):
//
//   AKTSYNCD=$PWD/build/dev/server/aktsyncd node tests/bench/web/app-bench.mjs
//
// Environment: BENCH_RECORDS (records the tablet holds, default 50000), BENCH_SLOW (records synced over the
// slow link, default 1000), BENCH_RUNS (repetitions of the short measurements, default 3; medians are
// printed), BENCH_RATE_KBIT and BENCH_LATENCY_MS (the slow link, default 256 kbit/s and 300 ms), BENCH_PARTS
// (a subset of "form,many,slow"). AKTSYNCD, CHROMIUM as in tests/web/harness.mjs.
//
// (a) form: the largest instrument (the SO1 survey) under Chromium's 4x CPU throttling: the app's start
//     (reload to the list shown), time to the first question of a new record, time from an answer to the
//     question it makes relevant being shown (the app has one scrolling page per record: this is its "next
//     page"), and opening a saved record.
// (b) many: BENCH_RECORDS records of the tablet's scope pushed by another device, pulled into the app in one
//     sync (the time); the app started and the list shown, a search typed (the time of the app's work,
//     measured in the page; the first search reads every record's summary);
//     IndexedDB bytes per record (navigator.storage.estimate(), growth during the pull) against the records'
//     JSON bytes.
// (c) slow: BENCH_SLOW records saved on a tablet and synced over the emulated link (CDP
//     Network.emulateNetworkConditions), and pulled by a second tablet over the same link, BENCH_RUNS
//     times (each run a user of its own scope, so the second tablet pulls that run's records alone), against
//     the time at the link's rate of (1) the records' own gzip bytes (their bodies, one a line, gzipped at
//     once, as tests/bench/link_bench.cpp; the records here are copies of one typed survey differing in two
//     answers, so this floor is tiny and the per-record protocol bytes set the ratio) and (2) the bytes
//     moved: the push batches gzipped (200 edits each) and the answers' bytes on the wire (as CDP counted
//     them). Each run also prints the app's requests by route and the body bytes it sent.
import zlib from 'node:zlib';
import * as H from '../../web/harness.mjs';
import { TABLET, step, call, tablet, enrol, syncNow, q } from '../../web/harness.mjs';

const RECORDS = Number(process.env.BENCH_RECORDS || 50000);
const SLOW = Number(process.env.BENCH_SLOW || 1000);
const RUNS = Number(process.env.BENCH_RUNS || 3);
const RATE = Number(process.env.BENCH_RATE_KBIT || 256) * 1000 / 8;  // bytes per second
const LATENCY = Number(process.env.BENCH_LATENCY_MS || 300);
const PARTS = new Set((process.env.BENCH_PARTS || 'form,many,slow').split(','));
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

async function partMany(admin, template) {
  let ids = [];
  const seedTime = await timed(async () => {
    ids = await H.seedRecords(admin, 'enis', { form: 'so1_interethnic_survey', scope, template, count: RECORDS,
      vary: (i) => ({ cluster_id: cluster(i), hh_number: household(i) }) });
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

  const list = [], start = [], search = [], searchMany = [], searchNone = [], openRec = [];
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
    // the input event to the list's rows replaced (the first search reads the summaries) and laid out.
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
  report('(b) opening a record from the search (median)', ms(median(openRec)));
  await T.context.close();
}

// Network conditions for the page (throughput in bytes/s).
async function slowLink(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  let received = 0;
  cdp.on('Network.loadingFinished', (e) => { received += e.encodedDataLength; });
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: LATENCY, downloadThroughput: RATE, uploadThroughput: RATE });
  return { received: () => received, off: () => cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 }) };
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
async function slowTablet(admin, name, count, user = 'vesa') {
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
  await H.cloneEdits(A.page, n, count - 1, (i) => ({ cluster_id: `prishtine-${String((i + 1) % 100).padStart(2, '0')}`, hh_number: (Math.floor((i + 1) / 100) % 999) + 1 }));
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

// One run of (c): tablet A pushes SLOW new records over the link, then tablet B enrols and pulls them.
// Each run has a user of its own scope (another community), so that tablet B pulls this run's records alone.
const COMMUNITIES = ['serb', 'bosniak', 'turkish', 'roma', 'ashkali', 'egyptian', 'gorani', 'montenegrin', 'croat'];
async function slowRun(admin, run) {
  const user = `vesa${run}`;
  await H.addEnumerator(admin, user, [{ municipality: 'prishtine', community: COMMUNITIES[run % COMMUNITIES.length], component: 'SO1' }]);
  const { A, pushBytes, ownBytes } = await slowTablet(admin, `bench-slow-a${run}`, SLOW, user);
  const own = ownBytes / RATE * 1000;
  const netA = await countRequests(A.page);
  const linkA = await slowLink(A.context, A.page);
  const sync = await timed(() => syncNow(A));
  const down = linkA.received();
  await linkA.off();
  const a = await netA();
  const ideal = (pushBytes + down) / RATE * 1000;
  report(`(c) run ${run + 1}: sync of ${SLOW} new records at ${RATE * 8 / 1000} kbit/s, ${LATENCY} ms`, ms(sync));
  report(`(c) run ${run + 1}: the records' own gzip bytes`, `${ownBytes} B (${(ownBytes / SLOW).toFixed(0)} B/record): ${ms(own)} at link rate; ratio ${(sync / own).toFixed(2)}`);
  report(`(c) run ${run + 1}: its bytes: sent (as sent) + received (on the wire)`, `${a.up} + ${down} B (${((a.up + down) / SLOW).toFixed(0)} B/record); ${a.requests} requests: ${routes(a)}`);
  report(`(c) run ${run + 1}: against its 200-edit batches gzipped + received`, `${pushBytes} + ${down} B: ${ms(ideal)} at link rate; ratio ${(sync / ideal).toFixed(2)}`);

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
  return { sync, pull, syncRatio: sync / own, pullRatio: pull / own, bytesRatio: sync / ideal };
}

async function partSlow(admin) {
  await H.addEnumerator(admin, 'vesa', [{ municipality: 'prishtine', community: 'albanian', component: 'SO1' }]);
  // The same work without the emulated link first: what the app and the server take on this machine.
  const base = await slowTablet(admin, 'bench-fast', SLOW);
  const fast = await timed(() => syncNow(base.A));
  report(`(c) sync of ${SLOW} new records on loopback, no emulated link (the machine's own time)`, ms(fast));
  await base.A.context.close();
  const runs = [];
  for (let run = 0; run < RUNS; run++) runs.push(await slowRun(admin, run));
  const m = (k) => median(runs.map((r) => r[k]));
  report(`(c) sync of ${SLOW} new records (median of ${RUNS})`, `${ms(m('sync'))}; ratio to the records' own gzip bytes ${m('syncRatio').toFixed(2)} (to the bytes moved ${m('bytesRatio').toFixed(2)})`);
  report(`(c) enrol + first pull of them (median of ${RUNS})`, `${ms(m('pull'))}; ratio to the records' own gzip bytes ${m('pullRatio').toFixed(2)}`);
}

async function main() {
  step('starting aktsyncd ' + H.binary);
  const admin = await H.startWithForms(['so1_interethnic_survey']);
  await H.addEnumerator(admin, 'enis', [scope]);
  await H.launchBrowser();
  let template = null;
  if (PARTS.has('form') || PARTS.has('many')) template = await partForm(admin);
  if (PARTS.has('many')) await partMany(admin, template);
  if (PARTS.has('slow')) await partSlow(admin);
  console.log('\nResults:');
  for (const [what, value] of results) console.log(`  ${what}: ${value}`);
}

await H.run(main);
