// Browser test of how the tablet app uses the wire (PROTOCOL §1.1, §4.1, §5.1), as the aktsync client does:
//   - pulls ask for the lean feed without echo (`compact=2&echo=0`) with `limit` and `max_bytes`; against a
//     server that refuses it (400 invalid_compact, a server before the lean feed) the app asks `compact=1`
//     and the sync finishes;
//   - creates leave out `changed` and an empty `context` (the server reads them as the defaults);
//   - a sync of the tablet's own records does not download them back at all: the pulls ask `skip_own=1`,
//     the feed leaves out every record whose one live version is the tablet's edit as pushed (no entry,
//     not even a `body_hash`), and the pull's last page makes each acknowledged edit the record's server
//     version (seq from its push answer); another tablet's edits still arrive; a record in conflict or with
//     a deletion pending comes whole; a rejected edit stays rejected; an edit saved while the pull runs
//     stays pending over the version taken; a second round converges;
//   - while a reset waits for the feed from its start (reset_pending) the app does not ask skip_own: its
//     own versions come with `body_hash` and the app takes the body from its own copy;
//   - a server before skip_own (the parameter dropped, emulated here) sends the tablet's own records as
//     body_hash entries, and the tablet converges;
//   - a record whose own copy differs from the server's is read whole (GET /v1/records/{id}); when a page
//     holds many of them, the page is asked again with every body (`echo=0` left out);
//   - the records converge: every field of every record is equal on the server (GET /v1/records/{id}, less
//     the `parents` and `changed` the compact feed leaves out) and on each tablet (tablet A, which wrote
//     them, tablet B, which pulled them with the lean feed, and tablet C, which pulled them with compact=1);
//   - the next sync's first push batch and first feed page are sized from the link throughput the last sync
//     kept in the local store (meta `link`), also after the app was reopened;
//   - content codings (PROTOCOL §1): Chromium asks `zstd` with gzip, deflate and br at one q-value; the tie
//     gives gzip (a browser's zstd decoder hands a stalled page's bytes on too late for the app to keep
//     what arrived whole), so feed pages arrive gzip-coded and are applied; the app's uploads stay gzip too
//     (CompressionStream has no zstd).
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import * as H from './harness.mjs';
import { TABLET, step, call, tablet, enrol, syncNow } from './harness.mjs';

const COUNT = 40;
const scope = { municipality: 'gracanice', community: 'serb', component: 'SO1' };

// Every request of the app to the feed and the push, with the feed's answers (their text) and the push
// bodies (gunzipped), recorded from the context's network.
function watch(t) {
  const log = { feeds: [], pushes: [], answers: [], records: 0, pushCodings: [] };
  t.page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname === '/v1/push' && r.method() === 'POST') {
      const raw = r.postDataBuffer();
      log.pushCodings.push(r.headers()['content-encoding'] || 'identity');
      log.pushes.push(JSON.parse((r.headers()['content-encoding'] === 'gzip' ? zlib.gunzipSync(raw) : raw).toString()));
    }
    if (u.pathname.startsWith('/v1/records/')) log.records++;
  });
  // The answers' bodies are read after the event: settled() waits for every read begun.
  const pending = new Set();
  log.settled = () => Promise.all([...pending]);
  t.page.on('response', (r) => {
    const p = answer(r);
    pending.add(p);
    p.finally(() => pending.delete(p));
  });
  const answer = async (r) => {
    const u = new URL(r.url());
    if (u.pathname === '/v1/push' && r.request().method() === 'POST' && r.status() === 200) {
      try { log.answers.push(JSON.parse(await r.text())); } catch { /* no body */ }
    }
    if (u.pathname !== '/v1/changes') return;
    const entry = { params: Object.fromEntries(u.searchParams), status: r.status(), body: null, coding: '', asked: '', bytes: 0 };
    log.feeds.push(entry);
    // allHeaders(): as on the wire, with those the network stack adds (Accept-Encoding).
    try {
      entry.coding = (await r.allHeaders())['content-encoding'] || 'identity';
      entry.asked = (await r.request().allHeaders())['accept-encoding'] || '';
    } catch { /* the page went away */ }
    try { const text = await r.text(); entry.bytes = Buffer.byteLength(text); entry.body = JSON.parse(text); } catch { /* no body */ }
  };
  return log;
}

// The tablet's stored records, by id.
const tabletRecords = (t) => t.page.evaluate(() => window.AktStore.tx(['records'], 'readonly', (s) => window.AktStore.all(s.records)))
  .then((l) => new Map(l.map((r) => [r.record, r])));

// The list states of records on the tablet (their summaries; undefined: not listed).
const states = (t, ids) => t.page.evaluate((ids) => window.AktStore.tx(['summaries'], 'readonly',
  (s) => Promise.all(ids.map((id) => window.AktStore.get(s.summaries, id)))).then((l) => l.map((x) => (x ? x.state : undefined))), ids);

// Every field of every record the tablet holds equals the server's record (less what the compact feed
// leaves out: `parents` and `changed` of each version, informational and kept by the server). A version
// the tablet took as the server's from its own acknowledged edit (the feed left its record out, skip_own)
// has server_time 0 (unknown): only the tablet's own versions may, and they are compared without it.
async function converged(t, admin, ids, what) {
  const held = await tabletRecords(t);
  const actor = await t.page.evaluate(async () => (await window.AktStore.meta('device')).actor);
  for (const id of ids) {
    const r = await call('GET', '/v1/records/' + id, admin);
    assert.equal(r.status, 200, id);
    const server = r.data;
    for (const v of server.live) { delete v.parents; delete v.changed; }
    const mine = structuredClone(held.get(id));
    assert.ok(mine, `${what}: record ${id} on the tablet`);
    for (const v of mine.live) { delete v.parents; delete v.changed; }
    for (const [i, v] of mine.live.entries()) {
      if (v.server_time !== 0 || !server.live[i]) continue;
      assert.equal(v.dot.actor, actor, `${what}: record ${id}: only an own version is taken with server_time 0`);
      v.server_time = server.live[i].server_time;
    }
    assert.deepEqual(mine, server, `${what}: record ${id} equal on the server and the tablet`);
  }
  assert.equal(held.size, ids.length, `${what}: the tablet holds exactly the records`);
}

async function main() {
  step('starting aktsyncd ' + H.binary);
  const admin = await H.startWithForms(['so1_interethnic_survey']);
  await H.addEnumerator(admin, 'enis', [scope]);
  await H.launchBrowser();

  // Tablet A: one survey typed, COUNT - 1 saved as copies of it, all synced.
  const A = await tablet(admin, 'enis', 'feed-a', TABLET);
  const a = watch(A);
  await enrol(A, A.code);
  const actorA = await A.page.evaluate(async () => (await window.AktStore.meta('device')).actor);
  const first = await H.newSurvey(A.page);
  await H.fillSurveyNonInterview(A.page, 'Laplje Selo', 1);
  await A.page.click('#save');
  await A.page.locator(`a[data-record="${first}"][data-state="pending"]`).waitFor();
  const n = await A.page.evaluate(async () => (await window.AktStore.tx(['edits'], 'readonly', (s) => window.AktStore.all(s.edits)))[0].n);
  const ids = [first, ...await H.cloneEdits(A.page, n, COUNT - 1, (i) => ({ cluster_id: `gracanice-${String(i % 100).padStart(2, '0')}`, hh_number: i + 2 }))];
  a.feeds.length = 0;
  await syncNow(A); await a.settled();

  // The push: creates without `changed` and without an empty `context`; every record arrived.
  const pushed = a.pushes.flatMap((p) => p.edits);
  assert.equal(pushed.length, COUNT);
  assert.deepEqual(pushed.filter((e) => 'changed' in e || 'context' in e).map((e) => e.record), [], 'creates leave out changed and context');
  // Lean answers (§4.2): every batch asks for them, and no answer repeats a record id; every edit acknowledged.
  assert.deepEqual(a.pushes.filter((p) => p.answer !== 'lean').map((p) => p.batch_id), [], 'every batch asks "answer":"lean"');
  assert.deepEqual([...new Set(a.pushCodings)], ['gzip'], 'uploads stay gzip (CompressionStream has no zstd)');
  assert.ok(a.answers.length >= 1);
  assert.deepEqual(a.answers.flatMap((x) => x.results).filter((r) => 'record' in r), [], 'no result repeats its record');
  const unacked = await A.page.evaluate(async () => (await window.AktStore.tx(['edits'], 'readonly', (s) => window.AktStore.all(s.edits))).filter((e) => !e.acked_epoch).length);
  assert.equal(unacked, 0, 'every edit acknowledged from the lean answers');
  // The pull: the lean feed without echo and without the tablet's own records, sized; none of the COUNT
  // records came back (no entry at all), and each is held as synced with the server's version.
  assert.ok(a.feeds.length >= 1);
  for (const f of a.feeds) {
    assert.equal(f.params.compact, '2', JSON.stringify(f.params));
    assert.equal(f.params.echo, '0', JSON.stringify(f.params));
    assert.equal(f.params.skip_own, '1', JSON.stringify(f.params));
    assert.ok(Number(f.params.max_bytes) >= 32768 && Number(f.params.limit) >= 500, JSON.stringify(f.params));
  }
  const entries = a.feeds.flatMap((f) => f.body.changes);
  const feedBytes = a.feeds.reduce((n, f) => n + f.bytes, 0);
  assert.deepEqual(entries.map((c) => c.record), [], 'the feed carried none of the own records');
  assert.ok(feedBytes < 200 * a.feeds.length, `the feed's answers are empty pages: ${feedBytes} B in ${a.feeds.length}`);
  assert.equal(a.records, 0, 'no record read whole');
  assert.deepEqual(await states(A, ids), ids.map(() => 'synced'), 'every record shows as synced');
  const answered = new Map(a.answers.flatMap((x) => x.results).map((r) => [r.dot.n, r.seq]));
  const heldA = await tabletRecords(A);
  for (const id of ids) {
    assert.ok(heldA.get(id), `record ${id}: held as the server's version`);
    const v = heldA.get(id).live[0];
    assert.equal(heldA.get(id).seq, answered.get(v.dot.n), `record ${id}: the seq of its push answer`);
  }
  await converged(A, admin, ids, 'tablet A');
  step(`tablet A: ${COUNT} creates pushed without changed, pulled back as nothing (${feedBytes} B of feed in ${a.feeds.length} page(s), skip_own=1); synced with the server's versions`);

  // Tablet B edits five of them (a version with a clock of two actors) and deletes one; A pulls them.
  const B = await tablet(admin, 'enis', 'feed-b', TABLET);
  const b = watch(B);
  await enrol(B, B.code); await b.settled();
  for (const f of b.feeds) assert.equal(f.params.compact, '2');
  await converged(B, admin, ids, 'tablet B (lean feed)');
  assert.ok(b.feeds.every((f) => /\bzstd\b/.test(f.asked)), `the browser asks zstd: ${b.feeds.map((f) => f.asked)}`);
  assert.ok(b.feeds.every((f) => f.coding !== 'zstd'), `no feed page came zstd-coded: ${JSON.stringify(b.feeds.map((f) => f.coding))}`);
  const gzipPages = b.feeds.filter((f) => f.coding === 'gzip' && f.body && f.body.changes.length > 0);
  assert.ok(gzipPages.length >= 1, `a feed page arrived gzip-coded: ${JSON.stringify(b.feeds.map((f) => f.coding))}`);
  assert.ok(gzipPages.reduce((n, f) => n + f.body.changes.length, 0) >= COUNT, 'the gzip pages carried the records B applied');
  step(`tablet B: asked "${b.feeds[0].asked}", a tie: feed pages arrived gzip-coded and were applied`);
  await B.page.evaluate(async (ids) => {
    const S = window.AktStore;
    const actor = (await S.meta('device')).actor;
    const recs = await S.tx(['records'], 'readonly', (s) => Promise.all(ids.map((id) => S.get(s.records, id))));
    for (const [i, r] of recs.entries()) {
      const v = S.view(actor, r, []).current;
      const body = { ...v.body, visit_attempt: 2 };
      await S.saveEdit({ record: r.record, form: r.form, form_version: r.form_version, scope: r.scope, body, deleted: i === 4,
                         changed: i === 4 ? [] : ['visit_attempt'], context: v.clock });
    }
  }, ids.slice(0, 5));
  await syncNow(B); await b.settled();
  // A, before it pulls B's edits: a field B changed, on A's version (a conflict), a deletion of a record B
  // edited (a deletion pending), an edit of its own record (left out by the feed), a deletion of its own
  // record (left out: taken as a tombstone), an edit the server rejects; and an edit of its own record whose
  // next edit is saved while the round's pull is on its way (it stays pending over the version taken, and
  // the round's last push sends it).
  const edit = (id, change, deleted = false) => A.page.evaluate(async ({ id, change, deleted }) => {
    const S = window.AktStore;
    const actor = (await S.meta('device')).actor;
    const [r, mine] = await S.tx(['records', 'edits'], 'readonly', (s) => Promise.all([S.get(s.records, id), S.all(s.edits, 'record', id)]));
    const v = S.view(actor, r, mine).current;
    return S.saveEdit({ record: id, form: r.form, form_version: r.form_version, scope: r.scope, body: { ...v.body, ...change }, deleted,
                        changed: deleted ? [] : Object.keys(change), context: v.clock });
  }, { id, change, deleted });
  await edit(ids[0], { visit_attempt: 3 });
  await edit(ids[1], {}, true);
  await edit(ids[10], { visit_attempt: 3 });
  await edit(ids[12], {}, true);
  await edit(ids[13], { visit_attempt: 'not a number' });
  await edit(ids[11], { visit_attempt: 3 });
  let during = null;
  await A.page.route(/\/v1\/changes\?/, async (route) => {
    if (during === null) during = await edit(ids[11], { visit_attempt: 2 });
    await route.continue();
  });
  a.feeds.length = 0;
  a.answers.length = 0;
  await syncNow(A); await a.settled();
  await A.page.unroute(/\/v1\/changes\?/);
  const got = a.feeds.flatMap((f) => f.body.changes);
  assert.deepEqual(got.map((c) => c.record).sort(), ids.slice(0, 5).sort(), 'the five records B edited came, none of A\'s own');
  assert.ok(a.feeds.every((f) => f.params.skip_own === '1'));
  assert.ok(got.find((c) => c.record === ids[0]).conflict && got.find((c) => c.record === ids[1]).deletion_pending);
  assert.deepEqual(await states(A, ids.slice(0, 2)), ['conflict', 'deletion_pending']);
  const refusedA = await A.page.evaluate(() => window.AktStore.tx(['rejected'], 'readonly', (s) => window.AktStore.all(s.rejected)));
  assert.deepEqual(await states(A, ids.slice(10, 14)), ['synced', 'synced', undefined, 'rejected'], 'ids 10-13 (12: deleted and synced, not listed) ' + JSON.stringify(refusedA.map((r) => [r.record, r.n, r.code, r.detail])) + ' ' + during);
  const heldA2 = await tabletRecords(A);
  const mineA = await A.page.evaluate(() => window.AktStore.tx(['edits'], 'readonly', (s) => window.AktStore.all(s.edits)));
  assert.ok(heldA2.get(ids[12]).deleted && heldA2.get(ids[12]).live[0].deleted, 'own deletion taken as the tombstone');
  assert.deepEqual(mineA.map((e) => [e.n, !!e.acked_epoch]), [[during, true]], 'only the edit saved during the pull is left, acknowledged by the last push');
  assert.ok(heldA2.get(ids[11]).live[0].dot.n < during && heldA2.get(ids[11]).live[0].dot.n > 0, 'the version before it taken');
  // The next round: nothing comes (the last edit is left out too), and every record is the server's.
  a.feeds.length = 0;
  await syncNow(A); await a.settled();
  assert.deepEqual(a.feeds.flatMap((f) => f.body.changes).map((c) => c.record), [], 'the second round carried nothing');
  assert.equal((await tabletRecords(A)).get(ids[11]).live[0].dot.n, during);
  await converged(A, admin, ids, 'tablet A after edits of both');
  await H.checkSummaries(A.page);
  await syncNow(B); await b.settled();
  await converged(B, admin, ids, 'tablet B after the edits');
  step('edits of two tablets (a conflict, a deletion pending, own edits and a deletion left out, a rejection, an edit during the pull) converged on both');

  // A's own copies of three records differ from the server's (as when the server stored an edit otherwise):
  // those three are read whole, the rest of the page is matched.
  const tamper = (list) => A.page.evaluate(async (list) => {
    const S = window.AktStore;
    await S.tx(['records', 'kept', 'edits'], 'readwrite', async (s) => {
      for (const id of list) {
        const r = await S.get(s.records, id);
        for (const v of r.live) v.body = { ...v.body, settlement_name: 'not what the server holds' };
        s.records.put(r);
        for (const k of await S.all(s.kept)) if (k.record === id) s.kept.put({ ...k, body: { ...k.body, settlement_name: 'not what the server holds' } });
      }
    });
    await S.setMeta({ cursor: '', reset_pending: true });  // the next pull reads the feed from its start, as after a reset
  }, list);
  await tamper(ids.slice(20, 23));
  a.feeds.length = 0;
  a.records = 0;
  await syncNow(A); await a.settled();
  assert.equal(a.records, 3, 'the three differing records read whole');
  assert.ok(a.feeds.every((f) => f.params.echo === '0'), 'no page asked again');
  assert.ok(a.feeds.every((f) => f.params.skip_own === undefined), 'no skip_own while a reset is pending');
  assert.equal(await A.page.evaluate(() => window.AktStore.meta('reset_pending')), undefined, 'the complete pull ended the reset');
  await converged(A, admin, ids, 'tablet A after reading three records whole');
  // Twenty differ: the page is asked again with every body, and A converges.
  await tamper(ids.slice(15, 35));
  a.feeds.length = 0;
  a.records = 0;
  await syncNow(A); await a.settled();
  assert.equal(a.records, 0, 'no record read one by one');
  assert.ok(a.feeds.length >= 2 && a.feeds[0].params.echo === '0' && a.feeds[1].params.echo === undefined,
            JSON.stringify(a.feeds.map((f) => f.params)));
  assert.equal(a.feeds[1].params.since, a.feeds[0].params.since, 'the same page asked again');
  await converged(A, admin, ids, 'tablet A after a page asked again with every body');
  step('own copies that differ: 3 records read whole; 20 in a page: the page asked again with every body');

  // A server before the lean feed (400 invalid_compact to compact=2, emulated here): tablet C asks compact=1.
  const C = await tablet(admin, 'enis', 'feed-c', TABLET);
  const c = watch(C);
  let refused = 0, dropped = 0;
  await C.context.route(/\/v1\/changes\?/, (route) => {
    const u = new URL(route.request().url());
    if (u.searchParams.get('compact') === '2') {
      refused++;
      return route.fulfill({ status: 400, contentType: 'application/problem+json',
        body: JSON.stringify({ code: 'invalid_compact', detail: 'compact: expected 0 or 1', status: 400, title: 'Bad Request' }) });
    }
    // A server before skip_own: as if the parameter was not there.
    if (u.searchParams.has('skip_own')) { dropped++; u.searchParams.delete('skip_own'); return route.continue({ url: u.toString() }); }
    return route.continue();
  });
  await enrol(C, C.code); await c.settled();
  await syncNow(C); await c.settled();
  assert.equal(refused, 1, 'compact=2 asked once, then no more');
  const asked = c.feeds.map((f) => f.params.compact);
  assert.ok(asked.length >= 3 && asked[0] === '2' && asked.slice(1).every((x) => x === '1'), JSON.stringify(asked));
  assert.ok(c.feeds.slice(1).every((f) => f.params.echo === '0'));
  assert.equal(await C.page.locator('#records a.record').count(), COUNT - 2, 'every record but the two deleted');
  await converged(C, admin, ids, 'tablet C (compact=1)');
  step('a server refusing compact=2: the app asked compact=1 and converged');
  // C edits three records; the server ignores skip_own: they come back as body_hash entries, matched.
  const actorC = await C.page.evaluate(async () => (await window.AktStore.meta('device')).actor);
  await C.page.evaluate(async (list) => {
    const S = window.AktStore;
    const actor = (await S.meta('device')).actor;
    for (const id of list) {
      const r = await S.tx(['records'], 'readonly', (s) => S.get(s.records, id));
      const v = S.view(actor, r, []).current;
      await S.saveEdit({ record: id, form: r.form, form_version: r.form_version, scope: r.scope, body: { ...v.body, visit_attempt: 3 },
                         changed: ['visit_attempt'], context: v.clock });
    }
  }, ids.slice(36, 39));
  c.feeds.length = 0;
  dropped = 0;
  await syncNow(C); await c.settled();
  assert.ok(dropped >= 1, 'the app asked skip_own');
  const ownC = c.feeds.flatMap((f) => f.body.changes).filter((x) => x.live.some((v) => v.dot.actor === actorC));
  assert.deepEqual(ownC.map((x) => x.record).sort(), ids.slice(36, 39).sort(), 'the old server sent the own records');
  assert.ok(ownC.every((x) => x.live.every((v) => v.body_hash && !v.body)), 'as body_hash entries');
  assert.deepEqual(await states(C, ids.slice(36, 39)), ['synced', 'synced', 'synced']);
  await converged(C, admin, ids, 'tablet C against a server before skip_own');
  step('a server before skip_own: the own records came as body_hash entries, and the tablet converged');

  // The next sync's first requests are sized from the throughput the last sync kept (meta `link`, PROTOCOL
  // §1.1), not by the fixed first sizes (200 edits, 256 KiB) of a tablet that never measured its link. The
  // app is reopened (nothing measured in memory) with a slow link kept and 45 new records: its round's
  // first batch has the least a batch takes (20 edits), its first feed page asks the least (32 KiB); the
  // full batch measured the link (loopback) and replaced the kept push throughput; every record arrived.
  const more = await H.cloneEdits(A.page, n, 45, (i) => ({ cluster_id: `gracanice-${String((i + 50) % 100).padStart(2, '0')}`, hh_number: i + 60 }));
  await A.page.evaluate(() => window.AktStore.setMeta({ link: { push: 0.001, pull: 0.001 } }));
  a.pushes.length = 0;
  a.feeds.length = 0;
  await A.page.reload();  // the app syncs as it starts
  await H.until(() => A.page.evaluate(async () => document.body.dataset.ready === '1' && !document.getElementById('sync').disabled &&
    (await window.AktSync.unsyncedCount()) === 0), 'the reopened app synced its new records');
  await a.settled();
  const sizesAsked = a.pushes.map((p) => p.edits.length);
  assert.equal(sizesAsked[0], 20, `the first batch sized from the kept throughput: ${sizesAsked}`);
  assert.deepEqual(a.pushes.flatMap((p) => p.edits.map((e) => e.record)), more, 'every new record pushed once, in order');
  assert.equal(a.feeds[0].params.max_bytes, '32768', `the first page sized from the kept throughput: ${JSON.stringify(a.feeds[0].params)}`);
  const keptNow = await A.page.evaluate(() => window.AktStore.meta('link'));
  assert.ok(keptNow.push > 0.001, `the full batch replaced the kept push throughput: ${JSON.stringify(keptNow)}`);
  await converged(A, admin, [...ids, ...more], 'tablet A after a sync sized from the kept throughput');
  for (const t of [A, B, C]) assert.deepEqual(t.errors, []);
  step(`a sync sized from the kept throughput: batches of ${sizesAsked.join(', ')} edits, first page max_bytes ${a.feeds[0].params.max_bytes}; kept now ${JSON.stringify(keptNow)}`);
}

await H.run(main);
