// Browser test of the tablet app holding many records (a supervisor's tablet; issue "Performance"): 2,000
// records of the tablet's scope are pushed by another device, the tablet pulls them in one sync, and
//   - the list shows a window of the newest records (never thousands of rows at once) and says how many
//     more there are; "Show more" extends it;
//   - search looks through every record, not only the window: a cluster finds its households, the end of a
//     record id its one record;
//   - that record opens with its answers;
//   - a page asked for while the list is still being read is not replaced by the list when it is ready;
//   - the list, "Show more" and search read only the records' summaries, never a record (a supervisor's
//     tablet holds 50,000: reading them took minutes), and the summaries are in step with the records;
//   - search keeps in step with the tablet's work without reading every record's search text again: a record
//     saved after the first search is found by its new answer (and no longer by its old one), a record typed
//     anew by its answer, and the form's title as the list shows it finds every record (in two languages);
//   - text typed into the search while the list is drawn again (a language change, a sync round's end) is
//     kept, and searched;
//   - after a restart the first search reads the stored search pack and the texts logged since (a few), once,
//     and no summary but those of the rows it shows;
//   - the storage the records take in IndexedDB is printed against their JSON bytes (the benchmark,
//     tests/bench/web/, measures 50,000).
import assert from 'node:assert/strict';
import * as H from './harness.mjs';
import { TABLET, step, call, tablet, enrol, syncNow } from './harness.mjs';

// Conditions are polled on a timer: the default (animation frames) never polls again in a page that
// draws no frame, and a list change made by a click can land between two frames.
const POLL = { polling: 250 };

const COUNT = 2000;
const scope = { municipality: 'gracanice', community: 'serb', component: 'SO1' };
// The survey's cluster ids are `<municipality>-NN`: 100 clusters, each with its households numbered.
const cluster = (i) => `gracanice-${String(i % 100).padStart(2, '0')}`;
const household = (i) => (Math.floor(i / 100) % 999) + 1;

async function main() {
  step('starting aktsyncd ' + H.binary);
  const admin = await H.startWithForms(['so1_interethnic_survey']);
  await H.addEnumerator(admin, 'enis', [scope]);
  await H.launchBrowser();
  const T = await tablet(admin, 'enis', 'tablet-many', TABLET);
  await enrol(T, T.code);

  const first = await H.newSurvey(T.page);
  await H.fillSurveyNonInterview(T.page, 'Laplje Selo', 1);
  await T.page.click('#save');
  // Saved (the rule check before the save takes a while on a loaded machine): only then is it synced.
  await T.page.locator(`a[data-record="${first}"][data-state="pending"]`).waitFor();
  await syncNow(T);
  const template = (await call('GET', '/v1/records/' + first, admin)).data.live[0].body;
  // From here on, every read of a whole record in the page is counted (window.__recordReads).
  await H.countRecordReads(T.context);
  await T.page.reload();
  await T.page.waitForFunction(() => document.body.dataset.ready === '1' && !document.getElementById('sync').disabled, undefined, POLL);
  const ids = await H.seedRecords(admin, 'enis', { form: 'so1_interethnic_survey', scope, template, count: COUNT,
    vary: (i) => ({ cluster_id: cluster(i), hh_number: household(i) }) });
  step(`${COUNT} records seeded by another device`);

  const usage = () => T.page.evaluate(async () => (await navigator.storage.estimate()).usage);
  const before = await usage();
  await T.page.evaluate(() => { window.__recordReads = 0; });
  const flash = await syncNow(T);
  assert.match(flash, new RegExp(`${COUNT}`), flash);
  // Each step of the round did bounded work: the pulled pages were stored without reading any record
  // back (the photo steps, the list shown after the round and its summaries included).
  assert.equal(await T.page.evaluate(() => window.__recordReads), 0, 'the sync round read no stored record');
  const after = await usage();
  const stored = await T.page.evaluate(() => window.AktStore.tx(['records'], 'readonly', async (s) => {
    const all = await window.AktStore.all(s.records);
    return { n: all.length, json: all.reduce((a, r) => a + JSON.stringify(r).length, 0),
             body: all.reduce((a, r) => a + r.live.reduce((b, v) => b + JSON.stringify(v.body).length, 0), 0) };
  }));
  assert.equal(stored.n, COUNT + 1);
  step(`pulled: ${stored.n} records, ${(stored.json / stored.n).toFixed(0)} B JSON each (bodies ${(stored.body / stored.n).toFixed(0)} B); ` +
       `IndexedDB grew ${((after - before) / stored.n).toFixed(0)} B per record = ${((after - before) / stored.json).toFixed(2)}x their JSON`);

  assert.equal(await H.checkSummaries(T.page), COUNT + 1, 'one summary per record');

  // The list: a window of the newest, the count of the rest, and more on request.
  await T.page.goto(H.base + '/app/#/');
  await T.page.reload();  // the app syncs as it starts: wait for that round (it shows the list again)
  await T.page.waitForFunction(() => document.body.dataset.ready === '1' && !document.getElementById('sync').disabled, undefined, POLL);
  await T.page.evaluate(() => { window.__recordReads = 0; });
  await T.page.goto(H.base + '/app/#/new');
  await T.page.locator('button[data-form]').first().waitFor();
  await T.page.goto(H.base + '/app/#/');
  await T.page.waitForFunction(() => document.querySelectorAll('#records a.record').length > 1, undefined, POLL);
  const shown = () => T.page.locator('#records a.record').count();
  const n1 = await shown();
  assert.ok(n1 >= 50 && n1 <= 200, `a window of the list, not ${n1} rows`);
  assert.equal(await T.page.locator('#records a.record').first().getAttribute('data-record'), ids[ids.length - 1], 'newest first');
  await T.page.locator('#more').waitFor();
  assert.match(await T.page.locator('#more').textContent(), new RegExp(String(COUNT + 1 - n1)));
  await T.page.click('#more');
  await T.page.waitForFunction((n) => document.querySelectorAll('#records a.record').length > n, n1, POLL);
  await H.shot(T.page, 'many-list');
  step(`the list shows ${n1} rows of ${COUNT + 1}, and more on request`);

  // "New record" tapped while the long list is still being read: the form choice stays (the list, read
  // after it, must not replace it).
  await T.page.goto(H.base + '/app/#/new');
  await T.page.locator('button[data-form]').first().waitFor();
  await T.page.goto(H.base + '/app/#/');
  await T.page.goto(H.base + '/app/#/new');
  await T.page.locator('button[data-form]').first().waitFor();
  await T.page.waitForTimeout(4000);  // the list's reading (about a second here) is long over
  assert.equal(await T.page.locator('button[data-form]').count(), 1, 'the form choice is still shown');
  await T.page.goto(H.base + '/app/#/');
  await T.page.waitForFunction(() => document.querySelectorAll('#records a.record').length > 1, undefined, POLL);

  // Search: through every record, the window only limits what is shown.
  const target = 17;  // among the oldest: far outside the first window
  await T.page.fill('#search', 'cluster_id: ' + cluster(target));
  await T.page.waitForFunction((n) => document.querySelectorAll('#records a.record').length === n, COUNT / 100, POLL);
  assert.equal(await T.page.locator(`#records a.record[data-record="${ids[target]}"]`).count(), 1);
  await T.page.fill('#search', ids[target].slice(-8));  // the id's end, shown on each row
  await T.page.waitForFunction(() => document.querySelectorAll('#records a.record').length === 1, undefined, POLL);
  assert.equal(await T.page.locator('#records a.record').getAttribute('data-record'), ids[target]);
  assert.equal(await T.page.evaluate(() => window.__recordReads), 0, 'the list, "Show more" and search read no record');
  step('the list, "Show more" and search read only summaries');
  await T.page.click('#records a.record');
  await T.page.locator('#form').waitFor();
  assert.equal(await H.q(T.page, 'cluster_id').locator('input').inputValue(), cluster(target));
  assert.equal(await H.q(T.page, 'hh_number').locator('input').inputValue(), String(household(target)));
  step('search finds a record outside the window; it opens with its answers');

  // The record found is changed and saved: the search finds it by its new answer, not by its old one. Only
  // the search texts of the records saved since are read again (from their summaries: the getAll of the log
  // and of the summaries are counted).
  await T.page.evaluate(() => {
    window.__searchReads = 0;  // reads of the search pack's log (S.readSearch()), and the log rows they read
    window.__logRows = 0;
    window.__summaryReads = 0;  // reads of every summary
    const orig = IDBObjectStore.prototype.getAll;
    IDBObjectStore.prototype.getAll = function (...a) {
      const r = orig.apply(this, a);
      if (this.name === 'summaries') window.__summaryReads++;
      if (this.name === 'search_log') { window.__searchReads++; r.addEventListener('success', () => { window.__logRows += r.result.length; }); }
      return r;
    };
  });
  await H.fill(T.page, 'hh_number', 987);
  await T.page.click('#save');
  await T.page.locator(`a[data-record="${ids[target]}"][data-state="pending"]`).waitFor();
  const draft = await H.newSurvey(T.page);
  await H.fill(T.page, 'hh_number', 876);
  await H.draftHas(T.page, draft, '"hh_number":876');
  await T.page.goto(H.base + '/app/#/');
  await T.page.locator('#search').waitFor();
  const found = async (text, n) => {
    await T.page.fill('#search', text);
    await T.page.waitForFunction(([t, n]) => document.getElementById('search').value === t &&
      document.querySelectorAll('#records a.record').length === n, [text, n], POLL);
    return T.page.locator('#records a.record').evaluateAll((l) => l.map((a) => a.dataset.record));
  };
  assert.deepEqual(await found('hh_number: 987', 1), [ids[target]], 'found by its new answer');
  assert.equal((await found(`cluster_id: ${cluster(target)} · hh_number: ${household(target)}`, 0)).length, 0, 'not by its old one');
  assert.deepEqual(await found('hh_number: 876', 1), [draft], 'a new draft is found');
  assert.equal(await T.page.evaluate(() => window.__searchReads), 0, 'the search texts were not read again');
  assert.equal(await T.page.evaluate(() => window.__summaryReads), 0, 'nor every summary');
  // The form's title as the list shows it (in the app's language) finds every record.
  const titles = [];
  for (const lang of ['sq', 'en']) {
    await found('', 100);  // (the title searched in the other language would find nothing in this one)
    await T.page.selectOption('#lang', lang);
    // The list is drawn again in that language; the one shown before stays (with its search and its titles
    // in the former language) until the new one is read: its title would find nothing.
    await T.page.locator(`#records[data-lang="${lang}"]`).waitFor();
    const title = (await T.page.locator('#records a.record .rtitle').first().textContent()).toLowerCase();
    titles.push(title);
    await found(title, 100);
    assert.match(await T.page.locator('#more').textContent(), new RegExp(String(COUNT + 2 - 100)));
  }
  assert.notEqual(titles[0], titles[1], 'the list\'s titles in the app\'s language');
  // Typed while the list is drawn again (here held after its new search box is made, before it is shown):
  // the new list searches what was typed, not the text of its start, and keeps the focus.
  await T.page.evaluate(() => {
    const orig = window.AktPhotos.stuck;
    window.__held = false;
    window.__release = null;
    const gate = new Promise((r) => { window.__release = r; });
    window.AktPhotos.stuck = async (...a) => { window.__held = true; await gate; window.AktPhotos.stuck = orig; return orig(...a); };
  });
  await T.page.selectOption('#lang', 'sr');
  await T.page.waitForFunction(() => window.__held, undefined, POLL);
  await T.page.fill('#search', 'hh_number: 987');
  await T.page.evaluate(() => window.__release());
  await T.page.locator('#records[data-lang="sr"]').waitFor();
  assert.equal(await T.page.locator('#search').inputValue(), 'hh_number: 987', 'what was typed is kept');
  assert.equal(await T.page.evaluate(() => document.activeElement && document.activeElement.id), 'search', 'and the focus');
  await T.page.waitForFunction(() => document.querySelectorAll('#records a.record').length === 1, undefined, POLL);
  assert.equal(await T.page.locator('#records a.record').getAttribute('data-record'), ids[target], 'and searched');
  assert.equal(await H.checkSummaries(T.page), COUNT + 2, 'summaries and search texts in step');
  step('search in step with saves and drafts, by the form\'s title in either language; the search texts read once');

  // The app started again (offline): the first search reads the search pack written after the first full
  // read, and the texts of the records saved after it, never every text one by one; it finds the same.
  await T.context.addInitScript(() => {
    window.__searchReads = 0;  // reads of the search pack's log (S.readSearch()), and the log rows they read
    window.__logRows = 0;
    window.__summaryReads = 0;  // reads of every summary
    const orig = IDBObjectStore.prototype.getAll;
    IDBObjectStore.prototype.getAll = function (...a) {
      const r = orig.apply(this, a);
      if (this.name === 'summaries') window.__summaryReads++;
      if (this.name === 'search_log') { window.__searchReads++; r.addEventListener('success', () => { window.__logRows += r.result.length; }); }
      return r;
    };
  });
  const again = await H.newSurvey(T.page);  // saved after the pack: logged
  await H.fill(T.page, 'hh_number', 765);
  await H.draftHas(T.page, again, '"hh_number":765');
  await T.context.setOffline(true);
  await T.page.goto(H.base + '/app/#/');
  await T.page.reload();
  await T.page.locator('#search').waitFor();
  assert.deepEqual(await found('hh_number: 987', 1), [ids[target]]);
  assert.deepEqual(await found('hh_number: 765', 1), [again], 'a draft typed after the pack');
  assert.equal((await found('cluster_id: ' + cluster(target + 1), 20)).length, 20);
  assert.equal(await T.page.evaluate(() => window.__searchReads), 1, 'the pack and its log read once');
  const logRows = await T.page.evaluate(() => window.__logRows);
  assert.ok(logRows >= 2 && logRows < 100, `the texts logged after the pack (${logRows}), not every text`);
  assert.equal(await T.page.evaluate(() => window.__summaryReads), 0, 'no summary read whole');
  await T.context.setOffline(false);
  assert.deepEqual(T.errors, []);
  step('after a restart the first search reads the search pack and the texts logged since');
}

await H.run(main);
