// The console in Albanian and Serbian meets no English: on the quickstart's demo data (aktsync-seed), the
// console is switched to `sq` and to `sr` and every page a supervisor or admin uses (conflicts and a
// conflict, submissions and a record, field team, tablets, users, datasets, forms and a form version,
// quarantine, audit log) is read: every visible text (and placeholder, title, label of a control) is
// compared with the English catalogue (server/web/i18n.js) and with the English labels of the four
// instruments. A text that is an English string the language translates otherwise fails the test; names
// and codes that are the same in all languages pass, as they are the same in both catalogues. Also the
// completeness of the catalogue (every key in en, sq and sr, a non-empty string). Screenshots of every
// page in both languages go to the output folder.
//
// Environment: AKTSYNCD, AKTSYNC_SEED (default next to the CLI), AKT_WEB_OUT, CHROMIUM (see harness.mjs).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import * as H from './harness.mjs';

const { call, step } = H;
const seedBinary = process.env.AKTSYNC_SEED || path.join(path.dirname(H.cli), 'aktsync-seed');
const DEMO_PW = 'demo password 12';

// The catalogue: every key in every language, each a non-empty string.
function catalogue() {
  const sandbox = { window: {} };
  vm.runInNewContext(fs.readFileSync(path.join(H.root, 'server/web/i18n.js'), 'utf8'), sandbox);
  const M = sandbox.window.AKT_MESSAGES;
  assert.deepEqual(Object.keys(M).sort(), ['en', 'sq', 'sr']);
  for (const code of ['en', 'sq', 'sr']) {
    assert.deepEqual(Object.keys(M[code]).sort(), Object.keys(M.en).sort(), code + ': the same keys as en');
    assert.deepEqual(Object.keys(M[code]).filter((k) => typeof M[code][k] !== 'string' || !M[code][k].trim()), [], code + ': empty or null texts');
  }
  return { M, latin: sandbox.window.AKT_SR_LATIN };
}

// English texts that must not show in `lang`: each catalogue string the language translates otherwise, as a
// whole-text pattern ({name} placeholders match anything), and each instrument label whose English differs.
function englishPatterns(M, latin, lang) {
  const escape = (s) => s.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
  const out = [];
  for (const [k, en] of Object.entries(M.en)) {
    if (M[lang][k] === en) continue;  // the same in both languages (a name, a code, "OK")
    if (NAMES.includes(k)) continue;
    const fixed = en.split(/\{[a-z_]+\}/).join('').replace(/[^\p{L}]/gu, '');
    if (fixed.length < 2) continue;  // nothing but a placeholder and punctuation
    out.push({ what: `catalogue ${k}: ${en}`, re: new RegExp('^' + norm(en).split(/\{[a-z_]+\}/).map(escape).join('.+?') + '$', 's') });
  }
  const labels = new Map();
  const walk = (v) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      if (typeof v.en === 'string' && typeof v[lang] === 'string') {
        const other = lang === 'sr' ? latin(v.sr) : v[lang];
        if (other !== v.en && v[lang] !== v.en) labels.set(norm(v.en), v.en);
      }
      Object.values(v).forEach(walk);
    }
  };
  for (const f of fs.readdirSync(path.join(H.root, 'schema/forms/programme')).filter((f) => f.endsWith('.json'))) {
    walk(JSON.parse(fs.readFileSync(path.join(H.root, 'schema/forms/programme', f), 'utf8')));
  }
  return { patterns: out, labels };
}
// Keys whose English text is only a default for a name people choose (a tablet's name when the admin gave
// none is data, stored as typed, like every other name).
const NAMES = ['tablet_of'];
// A text as compared: spaces collapsed, the separators and arrows around it taken off.
function norm(s) {
  return String(s).replace(/\s+/g, ' ').replace(/^[\s:·,;←→★*()–—-]+|[\s:·,;←→★*()–—-]+$/g, '');
}

// Every text the page shows: text nodes of visible elements (split at " · "), the options of its
// drop-downs, and the placeholders, titles and accessible labels of its controls.
const visibleTexts = (page) => page.evaluate(() => {
  const out = [];
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    const cs = getComputedStyle(el);
    return (r.width > 0 || r.height > 0) && cs.visibility !== 'hidden' && cs.display !== 'none';
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest('script, style, #lang')) continue;
    if (el.tagName === 'OPTION' ? !shown(el.closest('select')) : !shown(el)) continue;
    for (const part of n.textContent.split(' · ')) if (part.trim()) out.push(part);
  }
  for (const el of document.querySelectorAll('[placeholder], [title], [aria-label]')) {
    if (el.closest('#lang') || !shown(el)) continue;
    for (const a of ['placeholder', 'title', 'aria-label']) if (el.getAttribute(a)) out.push(el.getAttribute(a));
  }
  return out;
});

async function main() {
  const { M, latin } = catalogue();
  step('catalogue complete: ' + Object.keys(M.en).length + ' keys in en, sq and sr');

  H.createUser('admin', 'admin');
  await H.startServer();
  fs.writeFileSync(path.join(H.tmp, 'demo-pw'), DEMO_PW + '\n', { mode: 0o600 });
  fs.writeFileSync(path.join(H.tmp, 'admin-pw'), H.PASSWORD + '\n', { mode: 0o600 });
  execFileSync(seedBinary, ['--port', String(H.port), '--plain', '1', '--admin-password-file', path.join(H.tmp, 'admin-pw'),
    '--demo-password-file', path.join(H.tmp, 'demo-pw'), '--forms-dir', path.join(H.root, 'schema/forms/programme'),
    '--state', path.join(H.tmp, 'state.json'), '--env-out', path.join(H.tmp, 'tablets.env'), '--records', '30'], { stdio: 'inherit' });
  const admin = (await call('POST', '/v1/login', null, { username: 'admin', password: H.PASSWORD })).data.token;
  // The shared lists and the common header, for every signed-in user; nobody else.
  assert.equal((await call('GET', '/v1/shared-definitions')).status, 401);
  assert.equal((await call('POST', '/v1/shared-definitions', admin, {})).status, 405);
  for (const user of ['admin', 'supervisor1', 'me1', 'enumerator1']) {
    const token = user === 'admin' ? admin : (await call('POST', '/v1/login', null, { username: user, password: DEMO_PW })).data.token;
    const shared = await call('GET', '/v1/shared-definitions', token);
    assert.equal(shared.status, 200, user);
    assert.deepEqual(shared.data.choice_lists['L:yes_no'].map((c) => [c.code, c.label.sq, c.label['sr-Latn']]), [['yes', 'Po', 'Da'], ['no', 'Jo', 'Ne']]);
    assert.deepEqual(shared.data.header_fields.find((f) => f.key === 'review_status').choices, 'L:review_status');
  }
  const conflicts = (await call('GET', '/v1/admin/conflicts?status=open', admin)).data.entries;
  const record = (await call('GET', '/v1/admin/records?limit=1&review=returned', admin)).data.records[0].record;
  const pages = ['inbox', ...conflicts.map((e) => 'conflict/' + e.id), 'submissions', 'record/' + record, 'team', 'tablets', 'users',
    'datasets', 'forms', 'form/so1_interethnic_survey/1', 'quarantine', 'audit'];
  step(`seeded; ${pages.length} pages to read (${conflicts.length} conflicts, one of each kind)`);
  // The quarantine's reasons as the server answers them in English (the seed pushes without a language):
  // an Albanian or Serbian reader must meet none of them, but the reason in their own language.
  const quarantined = (await call('GET', '/v1/admin/quarantine?limit=1000', admin)).data.entries;
  const hideIds = (s) => s.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/gi, '…');
  const englishReasons = [...new Set(quarantined.flatMap((q) => ((q.fields || []).length ? q.fields.map((f) => f.message) : [hideIds(q.detail)])))];
  const argued = quarantined.filter((q) => !(q.fields || []).length);
  assert.ok(englishReasons.length >= 3 && argued.length >= 1, 'the seed leaves reasons in the quarantine: ' + JSON.stringify(quarantined.map((q) => q.code)));
  assert.deepEqual(argued.map((q) => [q.code, q.args]), [['unknown_form_version', { form: 'so1_interethnic_survey', form_version: 2 }]]);

  const browser = await H.launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(H.base + '/console/#/signin');
  await page.fill('#username', 'admin');
  await page.fill('#password', H.PASSWORD);
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('signout').waitFor({ state: 'visible' });

  // The API calls ask for the console's language (the server's own messages follow it).
  const asked = new Map();
  page.on('request', (r) => { if (new URL(r.url()).pathname.startsWith('/v1/')) asked.set(r.url(), r.headers()['accept-language']); });
  const found = new Map();  // what was found -> the pages it was on
  for (const lang of ['sq', 'sr']) {
    const { patterns, labels } = englishPatterns(M, latin, lang);
    await page.selectOption('#lang', lang);
    await page.getByTestId('nav-inbox').filter({ hasText: M[lang].nav_inbox }).waitFor();
    for (const hash of pages) {
      asked.clear();
      if (page.url().endsWith('#/' + hash)) await page.reload();  // the same fragment again renders nothing new
      else await page.goto(H.base + '/console/#/' + hash);
      await page.locator('main h1').first().waitFor();
      await page.waitForFunction(() => !document.querySelector('main .muted') ||
        ![...document.querySelectorAll('main .muted')].some((e) => /…$/.test(e.textContent)));
      await page.waitForTimeout(300);  // the indicators and photos arrive after the heading
      assert.ok(asked.size > 0, hash);
      assert.deepEqual([...new Set(asked.values())], [lang === 'sr' ? 'sr-Latn' : lang], `#/${hash}: the API is asked in the console's language`);
      const name = hash.replace(/\//g, '-');
      await page.screenshot({ path: path.join(H.outDir, `i18n-${lang}-${name}.png`), fullPage: true });
      // Nothing internal either: no record or actor id, no clock.
      assert.doesNotMatch(await page.locator('main').innerText(), /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\{"[0-9a-f-]{8,}":\s*\d/i,
        `${lang} #/${hash}: an id or a clock on screen`);
      for (const raw of await visibleTexts(page)) {
        const text = norm(raw);
        if (!/\p{L}/u.test(text)) continue;
        const hit = patterns.find((p) => p.re.test(text));
        // A form version's preview shows its questions in every language on purpose: there only the
        // console's own texts count.
        if (hash.startsWith('form/') && labels.has(text)) continue;
        const why = hit ? hit.what : labels.has(text) ? "an instrument's English label" : null;
        if (!why) continue;
        const key = `${lang}: "${text}" (${why})`;
        if (!found.has(key)) found.set(key, []);
        found.get(key).push(hash.replace(/[0-9a-f-]{36}$/, 'ID'));
      }
    }
    step(`${lang}: ${pages.length} pages read`);

    // The quarantine: each reason in the language, none as stored in English.
    await page.goto(H.base + '/console/#/quarantine');
    await page.getByTestId('quarantine-table').waitFor();
    const shownReasons = await page.locator('main').innerText();
    assert.deepEqual(englishReasons.filter((x) => shownReasons.includes(x)), [], `${lang}: a quarantine reason in English`);
    const pattern = (template) => new RegExp('^' + template.split(/\{[a-z_]+\}/).map((p) => p.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('.+?') + '$');
    const reasons = await page.getByTestId('rejection-text').allInnerTexts();
    assert.equal(reasons.length, argued.length);
    for (const r of reasons) assert.match(r, pattern(M[lang].rd_unknown_form_version), `${lang}: the reason in the language`);
    // Its times as the language writes them: day.month.year, 24 hours, UTC said.
    const received = await page.getByTestId('quarantine-row').first().locator('td').nth(1).getAttribute('title');
    assert.match(received, /^\d{2}\.\d{2}\.\d{4}\.?,? \d{2}:\d{2} UTC$/, `${lang}: a date as the language writes it`);
    step(`${lang}: quarantine reasons in the language (${englishReasons.length} English texts absent)`);

    // Dates typed as the language writes them (dd.mm.yyyy), whatever the browser's locale; a wrong day
    // is refused where it is typed, in the language.
    await page.goto(H.base + '/console/#/submissions');
    const from = page.getByTestId('sub-from');
    await from.waitFor();
    assert.equal(await from.getAttribute('type'), 'text', 'not the browser-locale date input');
    assert.equal(await from.getAttribute('placeholder'), M[lang].date_pattern);
    await from.fill('31.02.2017');
    await page.getByTestId('sub-apply').click();
    assert.equal(await from.evaluate((e) => e.validationMessage), M[lang].date_invalid.replace('{pattern}', M[lang].date_pattern));
    await from.fill('1.6.2017');
    const filtered = page.waitForRequest((r) => new URL(r.url()).pathname === '/v1/admin/records' && new URL(r.url()).searchParams.get('from') === '2017-06-01');
    await page.getByTestId('sub-apply').click();
    await filtered;
    await page.getByTestId('sub-from').and(page.locator('[value="01.06.2017"]')).waitFor();
    await page.getByTestId('sub-from').fill('');
    await page.getByTestId('sub-apply').click();
    step(`${lang}: dates typed and shown as dd.mm.yyyy`);
  }
  const list = [...found].map(([what, where]) => `${what} on ${[...new Set(where)].join(', ')}`);
  if (list.length) console.log(list.join('\n'));
  assert.deepEqual(list, [], 'English on the Albanian or Serbian console');
  assert.deepEqual(errors, [], 'no script errors');
  step('no English fallback in sq or sr');
}

await H.run(main);
