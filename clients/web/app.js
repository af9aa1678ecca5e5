// The enumerators' tablet app: enrolment, the record list with each record's sync state, the form renderer
// (answers stored in IndexedDB as they are entered), save/delete as edits with dots, sync, backup.
// Storage and the sync rules are in store.js and sync.js; the form rules are the server's own (engine.js).
'use strict';
(function () {
  const S = window.AktStore, Y = window.AktSync, E = window.AktEngine, P = window.AktPhotos, M = window.AKT_APP_MESSAGES;
  const main = document.getElementById('main');
  const LIST_WINDOW = 100;
  const STUCK_ROUNDS = 3;  // a photo still waiting after this many sync rounds is listed as stuck
  const TOO_LARGE = new Set(['body_too_large', 'batch_too_large', 'http_413']);  // a push refused with 413  // rows of the record list shown at once (search covers all)
  const HIDDEN_HEADER = new Set(['enumerator_id', 'team_id', 'device_id', 'started_at', 'ended_at', 'app_version', 'review_comment']);
  let lang = 'en';
  let device = null;
  let page = null;  // the open record page (for refresh after a sync)
  let syncing = false;
  let listQuery = '';  // the list's search text: kept when the list is shown again (after a sync, coming back)
  let listLimit = 0;   // rows shown after "Show more" (0: one window); kept like the search text
  let searchCopy = null;  // the list's search copy (searchIndex()): a promise of {ids, forms, texts, lang, full}
  let reenrol = false;  // the server refused the device token: enrol again (same actor) with a new code

  // ---- small helpers --------------------------------------------------------------------------------
  function t(key, vars) {
    let s = (M[lang] && M[lang][key]) || M.en[key] || key;
    for (const [k, v] of Object.entries(vars || {})) s = s.split('{' + k + '}').join(String(v));
    return s;
  }
  function lbl(l) { return (l && (l[lang] || l.en)) || ''; }
  // A stored form's title in the app's language: its definition's (labels by language), else the forms
  // list's (PROTOCOL §10: a string). Definitions are parsed once per form version in a page's life.
  const formTitles = new Map();
  function formTitle(f) {
    if (!formTitles.has(f.key)) {
      let title = null;
      try { title = JSON.parse(f.definition).title || null; } catch (_) { /* the list's title */ }
      formTitles.set(f.key, title);
    }
    const title = formTitles.get(f.key) || f.title;
    return typeof title === 'string' ? title : lbl(title);
  }
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) e.append(c instanceof Node ? c : String(c));
    return e;
  }
  let idSeq = 0;
  const uid = (p) => `${p}-${++idSeq}`;
  function localIso(ms) {
    const d = new Date(ms);
    const pad = (n, w = 2) => String(Math.abs(n)).padStart(w, '0');
    const off = -d.getTimezoneOffset();
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:` +
           `${pad(d.getSeconds())}${off >= 0 ? '+' : '-'}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  }
  let flashSticky = false;  // a message shown just before a navigation survives that one navigation
  function flash(text, kind) {
    flashSticky = !!text;
    const f = document.getElementById('flash');
    f.textContent = text;
    f.className = 'flash ' + (kind || '');
    f.hidden = !text;
  }
  const errText = (e) => (M.en['err_' + e.code] ? t('err_' + e.code) : t('err_other', { code: e.code }));

  // ---- status bar -----------------------------------------------------------------------------------
  async function status(extra) {
    const st = document.getElementById('status');
    if (!device) { st.textContent = ''; return; }
    const last = await S.meta('last_sync');
    const n = await Y.unsyncedCount();
    const parts = [t('enrolled_as', { user: device.user.username, device: device.device_name }),
                   t('last_sync', { when: last ? new Date(last).toLocaleString() : t('never') })];
    if (n) parts.push(t('unsynced_n', { n }));
    if (!navigator.onLine) parts.push(t('offline'));
    st.textContent = parts.join(' · ') + (extra ? ' · ' + extra : '');
  }

  function applyLanguageTexts() {
    document.documentElement.lang = lang === 'sr' ? 'sr-Latn' : lang;
    document.title = t('app_title');
    document.getElementById('title').textContent = t('app_title');
    document.getElementById('lang-label').textContent = t('language');
    document.getElementById('sync').textContent = syncing ? t('syncing') : t('sync');
    document.getElementById('backup').textContent = t('backup');
    const w = document.getElementById('storage-warning');
    if (!w.hidden) w.textContent = t('storage_refused');
    document.getElementById('sync').hidden = !device;
    document.getElementById('backup').hidden = !device;
  }

  // ---- enrolment --------------------------------------------------------------------------------------
  function showEnrol(message) {
    page = null;
    const input = el('input', { id: 'code', name: 'code', type: 'text', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false',
                                inputmode: 'text', placeholder: 'xxxx-xxxx-xxxx-xxxx', required: true });
    const msg = el('p', { class: 'error', id: 'enrol-msg', role: 'alert', text: message || '' });
    const form = el('form', { class: 'card', onsubmit: async (ev) => {
      ev.preventDefault();
      stopScan();
      msg.textContent = t('enrolling');
      try {
        device = await Y.enrol(input.value);  // an enrolled tablet keeps its actor (re-enrolment, PROTOCOL §8.4)
        reenrol = false;
        msg.textContent = '';
        applyLanguageTexts();
        await askPersistence();
        location.hash = '#/';
        await doSync();
      } catch (e) {
        msg.textContent = e.kind === 'network' ? t('enrol_offline') : e.kind === 'throttled' ? t('enrol_throttled') : t('enrol_bad_code');
      }
    } },
    el('h2', { text: t('enrol_title') }), el('p', { text: t('enrol_intro') }),
    el('label', { for: 'code', text: t('enrol_code') }), input, scanner(input, () => form.requestSubmit()),
    el('button', { type: 'submit', class: 'primary', text: t('enrol_button') }), msg);
    main.replaceChildren(form);
    input.focus();
  }

  // ---- the enrolment code from the camera (the console shows it as a QR code) --------------------------
  // With the browser's BarcodeDetector and a camera (Chrome on Android): the back camera's picture is shown
  // and read a few times a second; the code found is typed in and the enrolment starts. Elsewhere a note
  // says to type the code. The QR code holds {"server": <the console's address>, "code": ...}; a plain code
  // is taken too.
  let scanning = null;  // {stream, timer}: the camera in use
  function stopScan() {
    if (!scanning) return;
    clearTimeout(scanning.timer);
    for (const track of scanning.stream.getTracks()) track.stop();
    scanning = null;
  }
  // The code a QR code holds: {code} or {otherServer} or null (not an enrolment code).
  function codeFromQr(text) {
    let data = null;
    try { data = JSON.parse(text); } catch (_) { data = null; }
    if (data && typeof data === 'object' && typeof data.code === 'string') {
      if (typeof data.server === 'string' && data.server.replace(/\/+$/, '') !== location.origin) return { otherServer: data.server };
      return { code: data.code };
    }
    const plain = String(text).trim().toLowerCase();
    return /^[a-z0-9]{4}(-[a-z0-9]{4}){3}$/.test(plain) ? { code: plain } : null;
  }
  function scanner(input, submit) {
    const note = el('p', { class: 'scan-msg', id: 'scan-msg', role: 'status' });
    if (!('BarcodeDetector' in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      note.textContent = t('scan_unsupported');
      return note;
    }
    const video = el('video', { id: 'scan-video', class: 'scan-video', muted: true, playsinline: true, autoplay: true, hidden: true,
                                'aria-label': t('scan_camera') });
    const cancel = el('button', { type: 'button', class: 'secondary', id: 'scan-cancel', hidden: true, onclick: () => done(t('scan_cancelled')) },
      t('cancel'));
    const start = el('button', { type: 'button', class: 'secondary', id: 'scan', onclick: () => begin() }, t('scan_button'));
    function done(text) {
      stopScan();
      video.hidden = true;
      cancel.hidden = true;
      start.hidden = false;
      note.textContent = text || '';
    }
    async function begin() {
      stopScan();
      note.textContent = t('scan_starting');
      let detector;
      try {
        if (typeof BarcodeDetector.getSupportedFormats === 'function' &&
            !(await BarcodeDetector.getSupportedFormats()).includes('qr_code')) { done(t('scan_unsupported')); return; }
        detector = new BarcodeDetector({ formats: ['qr_code'] });
      } catch (_) { done(t('scan_unsupported')); return; }
      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: 'environment' } }, audio: false });
      } catch (e) {
        done(e && e.name === 'NotAllowedError' ? t('scan_denied') : t('scan_no_camera'));
        return;
      }
      if (!video.isConnected) { for (const tr of stream.getTracks()) tr.stop(); return; }  // the page changed meanwhile
      scanning = { stream, timer: 0 };
      video.srcObject = stream;
      video.hidden = false;
      cancel.hidden = false;
      start.hidden = true;
      note.textContent = t('scan_point');
      video.play().catch(() => {});
      const look = async () => {
        if (!scanning || scanning.stream !== stream) return;
        let found = [];
        try { if (video.readyState >= 2) found = await detector.detect(video); } catch (_) { found = []; }
        if (!scanning || scanning.stream !== stream) return;
        for (const b of found) {
          const got = codeFromQr(b.rawValue);
          if (got && got.code) { input.value = got.code; done(t('scan_found')); submit(); return; }
          if (got && got.otherServer) { done(t('scan_other_server', { server: got.otherServer })); return; }
        }
        if (found.length) note.textContent = t('scan_not_code');
        scanning.timer = setTimeout(look, 250);
      };
      look();
    }
    return el('div', { class: 'scan' }, start, video, cancel, note);
  }

  // ---- records: state and list ----------------------------------------------------------------------
  // What the record page needs of one record (never every record of the tablet).
  async function loadOne(id) {
    return S.tx(['records', 'edits', 'drafts', 'rejected', 'forms'], 'readonly', async (s) => {
      const rec = await S.get(s.records, id), draft = await S.get(s.drafts, id);
      return { records: rec ? [rec] : [], edits: await S.all(s.edits, 'record', id), drafts: draft ? [draft] : [],
               rejected: (await S.all(s.rejected, 'record', id)).filter((r) => !r.answered), forms: await S.all(s.forms) };
    });
  }

  const BADGE = { synced: 'state_synced', pending: 'state_pending', rejected: 'state_rejected', conflict: 'state_conflict',
                  deletion_pending: 'state_deletion_pending', deleted_pending: 'state_deletion_pending', draft: 'state_draft',
                  deleted: 'state_deleted' };

  function groupRecords(all) {
    const by = new Map();
    const entry = (id) => { if (!by.has(id)) by.set(id, { id, rec: null, edits: [], draft: null, rejected: [] }); return by.get(id); };
    for (const r of all.records) entry(r.record).rec = r;
    for (const e of all.edits) entry(e.record).edits.push(e);
    for (const d of all.drafts) entry(d.record).draft = d;
    for (const r of all.rejected) entry(r.record).rejected.push(r);
    for (const g of by.values()) {
      g.edits.sort((a, b) => a.n - b.n);
      g.view = S.view(device.actor, g.rec, g.edits);
      g.state = S.stateOf(g.rec, g.edits, g.draft, g.rejected, g.view);
      const src = g.rec || g.edits[0] || g.draft || g.rejected[0];
      g.form = src.form;
      g.form_version = g.rec ? g.rec.form_version : src.form_version;
      g.scope = src.scope;
      g.body = (g.draft && g.draft.body) || (g.view.current && g.view.current.body) || (g.rejected[0] && g.rejected[0].body) || {};
    }
    return [...by.values()];
  }

  // The list's search copy: every record's search text (store.js searchText()), newest first, read once in
  // this page's life and then kept in step: the records whose summary was written since (S.takeTouched())
  // are read again, alone (their summaries). It is read from the stored pack (`search_pack`) and the texts
  // logged after it (`search_log`, S.readSearch()); when more than PACK_DELTA were logged (a long pull), a
  // new pack is written and the log up to it dropped. `full` (title in the app's language, answers, record
  // id; lower case) is what a keystroke compares, made again when the language changes.
  const PACK_DELTA = 1000;
  function patchCopy(c, ids, texts) {
    const at = new Map(c.ids.map((id, i) => [id, i]));
    let added = false;
    ids.forEach((id, k) => {
      const i = at.get(id);
      if (i !== undefined) c.texts[i] = texts[k];  // undefined: the row is gone
      else if (texts[k] !== undefined) { at.set(id, c.ids.length); c.ids.push(id); c.texts.push(texts[k]); added = true; }
    });
    const keep = c.ids.map((_, i) => i).filter((i) => c.texts[i] !== undefined);
    if (added) keep.sort((x, y) => (c.ids[x] < c.ids[y] ? 1 : c.ids[x] > c.ids[y] ? -1 : 0));
    c.ids = keep.map((i) => c.ids[i]);
    c.texts = keep.map((i) => c.texts[i]);
    c.full = null;
  }
  const textsOf = (ids) => S.tx(['summaries'], 'readonly', (s) => Promise.all(ids.map((id) => S.get(s.summaries, id))))
    .then((rows) => rows.map((r) => (r ? S.searchText(r) : undefined)));
  async function readCopy() {
    S.takeTouched();  // what this page wrote is in the store (and logged): read from there
    const got = await S.tx(['search_pack', 'search_log'], 'readonly', (s) => S.readSearch(s));
    if (got.logged > PACK_DELTA) {
      // The new pack, and the log up to it dropped (in one transaction). Texts logged after `last` stay logged.
      const pack = { k: 'pack', log: got.last, ids: [...got.ids], texts: [...got.texts] };
      S.tx(['search_pack', 'search_log'], 'readwrite', (s) => {
        s.search_pack.put(pack);
        s.search_log.delete(IDBKeyRange.upperBound(got.last));
      }).catch(() => {});
    }
    return { ids: got.ids, texts: got.texts, full: null, lang: null };
  }
  function searchIndex(titleOf) {
    const build = async (c) => {  // c: the copy as it was (null: none yet, or its reading failed)
      const touched = S.takeTouched();
      if (!c || touched.all) return readCopy();
      if (touched.size) {
        const ids = [...touched];
        patchCopy(c, ids, await textsOf(ids));
      }
      return c;
    };
    const prev = searchCopy;
    searchCopy = (prev ? prev.catch(() => null) : Promise.resolve(null)).then(build).then((c) => {
      if (!c.full || c.lang !== lang) {
        const titles = new Map();
        c.full = c.texts.map((t, i) => {
          const nl = t.indexOf('\n'), form = t.slice(0, nl);
          if (!titles.has(form)) titles.set(form, String(titleOf(form)).toLowerCase());
          return `${titles.get(form)} ${t.slice(nl + 1)} ${c.ids[i]}`;
        });
        c.lang = lang;
      }
      return c;
    });
    const mine = searchCopy;
    mine.catch(() => { if (searchCopy === mine) searchCopy = null; });
    return mine;
  }

  // The list reads the records' summaries (store.js), never the records: the newest window with a cursor
  // and the count at once. A search compares the search copy (above) and reads the summaries of the rows
  // it shows, by id; the copy is read as the list is shown, so that the first keystroke finds it ready.
  async function showList() {
    const mine = routeSeq;
    page = null;
    let limit = Math.max(LIST_WINDOW, listLimit);
    const first = await S.tx(['summaries', 'forms'], 'readonly', async (s) => ({
      total: await S.wrap(s.summaries.count()), rows: await S.take(s.summaries, null, 'prev', limit), forms: await S.all(s.forms) }));
    const forms = new Map(first.forms.map((f) => [f.form_id, f]));
    // Photos: one this tablet still has to upload, or (another tablet's) one the server is still waiting for.
    const waiting = await P.unconfirmed();
    const titleOf = (form) => { const f = forms.get(form); return f ? formTitle(f) : form; };
    const summariesOf = (ids) => S.tx(['summaries'], 'readonly', (s) => Promise.all(ids.map((id) => S.get(s.summaries, id))))
      .then((l) => l.filter(Boolean));
    const search = el('input', { id: 'search', type: 'search', placeholder: t('search'), 'aria-label': t('search'), value: listQuery });
    // `data-lang`: the language the list is drawn in (a language change draws a new list, read first).
    const list = el('ul', { class: 'records', id: 'records', 'data-lang': lang });
    let drawn = 0;  // the latest render() (a slower earlier one does not overwrite it)
    const render = async () => {
      const seq = ++drawn;
      const q = search.value.trim().toLowerCase();
      let matches, total;
      if (q) {
        const c = await searchIndex(titleOf);
        if (seq !== drawn) return;
        const found = [];
        for (let i = 0; i < c.full.length; i++) if (c.full[i].includes(q)) found.push(c.ids[i]);
        matches = await summariesOf(found.slice(0, limit));
        total = found.length;
      } else if (limit <= first.rows.length || first.rows.length >= first.total) {
        matches = first.rows;
        total = first.total;
      } else {
        matches = await S.tx(['summaries'], 'readonly', (s) => S.take(s.summaries, null, 'prev', limit));
        total = first.total;
      }
      if (seq !== drawn) return;
      const rows = [];
      for (const r of matches.slice(0, limit)) {
        const photos = r.refs.some((d) => waiting.has(d)) ? 'waiting' : r.pending_upload ? 'missing' : undefined;
        rows.push(el('li', {}, el('a', { href: '#/r/' + r.record, class: 'record', 'data-record': r.record, 'data-state': r.state,
                                          'data-photos': photos },
          el('span', { class: 'rtitle', text: titleOf(r.form) }),
          el('span', { class: 'badge ' + r.state, text: t(BADGE[r.state]) }),
          el('span', { class: 'rmeta', text: (r.keys ? r.keys + ' · ' : '') + '…' + r.record.slice(-8) }),
          photos ? el('span', { class: 'badge photos ' + photos, text: t('state_photo_' + photos) }) : null)));
      }
      if (!rows.length) rows.push(el('li', { class: 'empty', text: t('no_records') }));
      if (total > limit) {
        rows.push(el('li', {}, el('button', { type: 'button', class: 'secondary', id: 'more', onclick: () => { limit += LIST_WINDOW; listLimit = limit; render(); } },
          t('show_more', { n: total - limit }))));
      }
      list.replaceChildren(...rows);
    };
    search.addEventListener('input', () => { listQuery = search.value; limit = LIST_WINDOW; listLimit = 0; render(); });
    await render();
    if (first.total > first.rows.length) searchIndex(titleOf).catch(() => {});  // ready before the first keystroke
    const stuck = await stuckPhotos();
    if (mine !== routeSeq) return;  // another page was asked for meanwhile
    // What was typed into the search of the list shown while this one was read (a sync round's end or a
    // language change draws the list again) is the search: this list searches it too, and keeps the focus,
    // rather than coming up with the text of its start.
    const typing = document.activeElement && document.activeElement.id === 'search';
    while (search.value !== listQuery) {
      search.value = listQuery;
      limit = Math.max(LIST_WINDOW, listLimit);
      await render();
      if (mine !== routeSeq) return;
    }
    main.replaceChildren(el('section', {},
      el('div', { class: 'toolbar' }, el('h2', { text: t('records') }),
         el('a', { href: '#/new', class: 'button primary', id: 'new-record', text: t('new_record') })),
      stuck, search, list));
    if (typing) search.focus();
  }

  // Photos that did not upload in several sync rounds, with the reason in the enumerator's language.
  async function stuckPhotos() {
    const list = await P.stuck(STUCK_ROUNDS);
    if (!list.length) return null;
    const reason = (code) => (!code ? t('stuck_no_reason') : code === 'attachment_too_large' ? t('reason_photo_too_large')
      : code === 'digest_mismatch' ? t('reason_photo_damaged') : t('reason_other', { code }));
    return el('div', { class: 'card stuck', id: 'stuck', role: 'status' }, el('h3', { text: t('stuck_title') }),
      el('ul', {}, list.map((x) => el('li', { 'data-digest': x.digest },
        x.records.map((r) => el('a', { href: '#/r/' + r, class: 'stuck-record' }, '…' + r.slice(-8))), ' ',
        t('stuck_item', { kb: Math.max(1, Math.round(x.size / 1024)), n: x.rounds }), ' ', el('span', { class: 'reason', text: reason(x.error) })))));
  }

  // ---- new record: form and area ------------------------------------------------------------------
  async function showNew() {
    const mine = routeSeq;
    page = null;
    const all = { forms: await S.tx(['forms'], 'readonly', (s) => S.all(s.forms)) };
    const me = (await S.meta('me')) || { scope: '*' };
    const latest = new Map();
    for (const f of all.forms) if (!latest.has(f.form_id) || latest.get(f.form_id).version < f.version) latest.set(f.form_id, f);
    const box = el('div', { class: 'card' });
    const chooseForm = el('div', { class: 'choices' });
    for (const f of [...latest.values()].sort((a, b) => (a.form_id < b.form_id ? -1 : 1))) {
      chooseForm.append(el('button', { type: 'button', class: 'choice', 'data-form': f.form_id, onclick: () => chooseScope(f) },
        formTitle(f)));
    }
    box.append(el('h2', { text: t('choose_form') }), chooseForm);
    if (mine !== routeSeq) return;
    main.replaceChildren(el('a', { href: '#/', class: 'back', text: '← ' + t('back') }), box);

    async function chooseScope(f) {
      const form = await E.load(f.definition);
      const assignments = me.scope === '*' ? [{ municipality: '*', community: '*', component: '*', form: '*' }]
        : (me.scope || []).filter((a) => a.form === '*' || a.form === f.form_id);
      const comp = (f.form_id.match(/^so(\d)/) || [])[1];
      const options = (member, list) => {
        const allowed = new Set(assignments.map((a) => a[member]));
        const codes = allowed.has('*') || allowed.has('') ? list : list.filter((c) => allowed.has(c.code));
        return codes;
      };
      const mkSelect = (id, label, choices, preferred) => {
        const sel = el('select', { id, name: id, required: true });
        for (const c of choices) sel.append(el('option', { value: c.code, text: lbl(c.label) || c.code }));
        if (preferred && choices.some((c) => c.code === preferred)) sel.value = preferred;
        return [el('label', { for: id, text: label }), sel];
      };
      const mun = form.choice_lists['L:municipality'] || [];
      const com = form.choice_lists['L:community'] || [];
      const comps = ['SO1', 'SO2', 'SO3'].map((c) => ({ code: c, label: { en: c } }));
      const [ml, ms] = mkSelect('scope-municipality', t('municipality'), options('municipality', mun.length ? mun : assignments.map((a) => ({ code: a.municipality, label: { en: a.municipality } }))));
      const [cl, cs] = mkSelect('scope-community', t('community'), options('community', com.length ? com : assignments.map((a) => ({ code: a.community, label: { en: a.community } }))));
      const [pl, ps] = mkSelect('scope-component', t('component'), options('component', comps), comp ? 'SO' + comp : undefined);
      box.replaceChildren(el('h2', { text: formTitle(f) }), el('h3', { text: t('scope') }),
        ml, ms, cl, cs, pl, ps,
        el('button', { type: 'button', class: 'primary', id: 'start', text: t('start'), onclick: async () => {
          const id = S.uuid7();
          const scope = { municipality: ms.value, community: cs.value, component: ps.value };
          const body = {};
          if (form.fields.some((x) => x.key === 'municipality')) body.municipality = scope.municipality;
          await S.putDraft({ record: id, form: f.form_id, form_version: f.version, scope, body,
                             is_new: true, started_at: localIso(Date.now()), updated: Date.now() });
          location.hash = '#/r/' + id;
        } }));
    }
  }

  // ---- the record page: the form renderer -----------------------------------------------------------
  async function showRecord(id) {
    const mine = routeSeq;
    const all = await loadOne(id);
    const g = groupRecords(all).find((x) => x.id === id);
    if (!g) { location.hash = '#/'; return; }
    const formRow = all.forms.find((f) => f.form_id === g.form && f.version === g.form_version)
      || all.forms.filter((f) => f.form_id === g.form).sort((a, b) => b.version - a.version)[0];
    if (!formRow) { main.replaceChildren(el('p', { class: 'error', text: `form ${g.form} v${g.form_version} is not on this tablet` })); return; }
    const form = await E.load(formRow.definition);
    const key = `${form.form_id}/${form.version}`;
    const readOnly = g.state === 'conflict' || g.state === 'deletion_pending' || g.state === 'deleted_pending';
    const rejected = g.rejected[g.rejected.length - 1] || null;
    const base = g.view.current && !g.view.current.deleted ? g.view.current : null;
    const draft = g.draft || { record: id, form: g.form, form_version: form.version, scope: g.scope,
                               body: JSON.parse(JSON.stringify(rejected ? rejected.body : (base ? base.body : {}))),
                               is_new: !base, started_at: null, updated: Date.now() };
    const today = await Y.serverToday();
    const conflicted = new Set((g.rec && g.rec.conflicted) || []);
    const serverReasons = new Map();
    if (rejected) for (const f of rejected.fields || []) serverReasons.set(f.path, f);
    const reg = new Map();  // path -> {div, err, calc, locator}
    let showAll = false;
    const touched = new Set();
    let lastEval = null;

    async function persistDraft() {
      draft.updated = Date.now();
      await S.putDraft(draft);
    }
    async function changed(path) {
      touched.add(path);
      serverReasons.delete(path);
      await persistDraft();
      await refresh();
    }

    function resolve(body, locator) {
      let o = body;
      for (const step of locator) {
        if (o === undefined || o === null) return undefined;
        if (typeof step === 'string') o = o[step];
        else o = Array.isArray(o) ? o.find((it) => it && String(it[step.idKey]) === step.id) : undefined;
      }
      return o;
    }

    // A photo question (PROTOCOL §14): the camera (or a file), a thumbnail, replace and remove. The file
    // and the draft referring to it are stored in one transaction; the answer is the attachment reference.
    function photoQuestion(f, obj, path, inputId, label, ro) {
      const box = el('div', { class: 'photo' });
      const input = el('input', { id: inputId, type: 'file', accept: 'image/*', capture: 'environment', hidden: true, disabled: ro,
                                  'aria-describedby': inputId + '-err' });
      const info = el('p', { class: 'photo-info', role: 'status' });
      const thumb = el('img', { class: 'thumb', alt: lbl(f.label), hidden: true });
      const take = el('button', { type: 'button', class: 'photo-take', disabled: ro, 'aria-labelledby': inputId + '-l ' + inputId + '-b',
                                  id: inputId + '-b', onclick: () => input.click() });
      const drop = el('button', { type: 'button', class: 'secondary photo-remove', disabled: ro, onclick: async () => {
        delete obj[f.key];
        await persistDraft();
        await show();
        await changed(path);
      } }, t('photo_remove'));
      label.id = inputId + '-l';
      input.addEventListener('change', async () => {
        const file = input.files && input.files[0];
        input.value = '';
        if (!file) return;
        info.textContent = t('photo_preparing');
        let p;
        try {
          p = await P.prepare(file);
        } catch (e) {
          info.textContent = t('photo_unreadable');
          return;
        }
        const before = obj[f.key];
        obj[f.key] = p.ref;
        draft.updated = Date.now();
        try {
          await S.tx(S.withSummaries(['blobs', 'blob_data']), 'readwrite', async (st) => {
            await P.put(st, p);
            st.drafts.put(draft);
            await S.summarize(st, [draft.record]);
          });
        } catch (e) {  // typically the browser's storage quota: the answer stays as it was
          if (before === undefined) delete obj[f.key]; else obj[f.key] = before;
          info.textContent = t('photo_not_stored', { reason: (e && e.name) || String(e) });
          return;
        }
        await show();
        touched.add(path);
        serverReasons.delete(path);
        await refresh();
      });
      let url = null;
      async function show() {
        if (url) { URL.revokeObjectURL(url); url = null; }
        const ref = P.parseRef(obj[f.key]);
        take.textContent = ref ? t('photo_replace') : t('photo_take');
        drop.hidden = !ref;
        thumb.hidden = true;
        box.dataset.photo = ref ? ref.digest : '';
        if (!ref) { info.textContent = ''; return; }
        const size = `${ref.size < 1048576 ? Math.max(1, Math.round(ref.size / 1024)) + ' KB' : (ref.size / 1048576).toFixed(1) + ' MB'} ` +
                     ref.type.slice(6).toUpperCase();
        const waiting = (await P.unconfirmed()).has(ref.digest);
        // Another tablet's photo the server does not hold yet (the record says so, or the server did).
        const pending = !waiting && g.rec && Array.isArray(g.rec.pending_upload) && g.rec.pending_upload.includes(path);
        box.dataset.waiting = waiting ? '1' : '';
        info.textContent = `${size} · ${waiting ? t('photo_waiting') : pending ? t('photo_not_uploaded') : t('photo_on_server')}`;
        const got = await P.photoUrl(obj[f.key], device);
        url = got.url;
        if (url && P.parseRef(obj[f.key]) && P.parseRef(obj[f.key]).digest === ref.digest) { thumb.src = url; thumb.hidden = false; }
        else if (!url && (got.missing || pending)) info.textContent = `${size} · ${t('photo_not_uploaded')}`;
        else if (!url) info.textContent += ' · ' + t('photo_not_here');
        box.dataset.shown = url ? '1' : got.missing || pending ? 'missing' : '';
      }
      box.append(thumb, el('div', { class: 'photo-buttons' }, take, drop), info, input);
      show();
      return el('div', {}, label, box);
    }

    // One question. `obj` is the object holding the answer (the body or a repeat item).
    function question(f, obj, prefix, locator) {
      const path = prefix + f.key;
      const inputId = uid('q');
      const div = el('div', { class: 'q q-' + f.type, 'data-path': path });
      const err = el('p', { class: 'error', id: inputId + '-err', role: 'status' });
      const label = el('label', { for: inputId, class: 'qlabel' }, lbl(f.label),
        f.required ? el('span', { class: 'req', text: ' *', title: t('required_mark') }) : null,
        f.calculated ? el('span', { class: 'calc', text: ` (${t('calculated')})` }) : null);
      const set = (v) => {
        if (v === undefined || v === '' || (Array.isArray(v) && !v.length)) delete obj[f.key]; else obj[f.key] = v;
        changed(path);
      };
      let widget = null;
      const cur = obj[f.key];
      const ro = readOnly || f.calculated;
      if (f.type === 'note') {
        div.append(el('p', { class: 'note', text: lbl(f.label) }));
        reg.set(path, { div, err, locator });
        return div;
      }
      if (f.type === 'photo') {
        div.append(photoQuestion(f, obj, path, inputId, label, readOnly), err);
        reg.set(path, { div, err, locator });
        return div;
      }
      if (f.calculated || f.type === 'calculated') {
        const out = el('output', { id: inputId, class: 'calc-value', text: cur === undefined ? '—' : String(cur) });
        div.append(label, out, err);
        reg.set(path, { div, err, calc: out, locator });
        return div;
      }
      const describedBy = inputId + '-err';
      switch (f.type) {
        case 'text':
          widget = el('input', { id: inputId, type: 'text', value: cur ?? '', disabled: ro, 'aria-describedby': describedBy,
                                 maxlength: f.max_length, oninput: (e) => set(e.target.value === '' ? undefined : e.target.value) });
          break;
        case 'integer':
        case 'decimal':
          widget = el('input', { id: inputId, type: 'number', inputmode: f.type === 'integer' ? 'numeric' : 'decimal',
                                 step: f.type === 'integer' ? '1' : 'any', value: cur ?? '', disabled: ro, min: f.min, max: f.max,
                                 'aria-describedby': describedBy,
                                 oninput: (e) => { const s = e.target.value; set(s === '' ? undefined : Number.isFinite(Number(s)) ? Number(s) : s); } });
          break;
        case 'date':
          widget = el('input', { id: inputId, type: 'date', value: cur ?? '', disabled: ro, min: f.min_date, max: f.max_date,
                                 'aria-describedby': describedBy, oninput: (e) => set(e.target.value || undefined) });
          break;
        case 'datetime':
          widget = el('input', { id: inputId, type: 'text', value: cur ?? '', disabled: ro, placeholder: 'YYYY-MM-DDTHH:MM+01:00',
                                 'aria-describedby': describedBy, oninput: (e) => set(e.target.value || undefined) });
          break;
        case 'boolean': {
          const name = uid('b');
          widget = el('div', { class: 'options', role: 'radiogroup', id: inputId, 'aria-labelledby': inputId + '-l' },
            [[true, t('yes')], [false, t('no')]].map(([v, text]) => {
              const oid = uid('o');
              return el('label', { class: 'option', for: oid }, el('input', { id: oid, type: 'radio', name, value: String(v),
                checked: cur === v, disabled: ro, onchange: () => set(v) }), text);
            }));
          label.id = inputId + '-l';
          label.removeAttribute('for');
          break;
        }
        case 'select_one': {
          let choices = form.choice_lists[f.choices] || [];
          // Tablets set only draft/submitted (forms.md §0.4); a reviewer's status is shown, not changed.
          if (f.key === 'review_status') {
            const own = choices.filter((c) => c.code === 'draft' || c.code === 'submitted');
            if (cur === undefined || own.some((c) => c.code === cur)) choices = own;
            else choices = choices.filter((c) => c.code === cur);
          }
          if (!choices.length) {
            widget = el('input', { id: inputId, type: 'text', value: cur ?? '', disabled: ro, oninput: (e) => set(e.target.value || undefined) });
          } else if (choices.length > 8) {
            widget = el('select', { id: inputId, disabled: ro, 'aria-describedby': describedBy, onchange: (e) => set(e.target.value || undefined) },
              el('option', { value: '', text: t('choose') }),
              choices.map((c) => el('option', { value: c.code, selected: cur === c.code, text: lbl(c.label) })));
          } else {
            const name = uid('s');
            widget = el('div', { class: 'options', role: 'radiogroup', id: inputId, 'aria-labelledby': inputId + '-l' },
              choices.map((c) => {
                const oid = uid('o');
                return el('label', { class: 'option', for: oid }, el('input', { id: oid, type: 'radio', name, value: c.code,
                  checked: cur === c.code, disabled: ro, 'data-code': c.code, onchange: () => set(c.code) }), lbl(c.label));
              }));
            label.id = inputId + '-l';
            label.removeAttribute('for');
          }
          break;
        }
        case 'select_multiple': {
          const choices = form.choice_lists[f.choices] || [];
          widget = el('div', { class: 'options', role: 'group', id: inputId, 'aria-labelledby': inputId + '-l' },
            choices.map((c) => {
              const oid = uid('o');
              return el('label', { class: 'option', for: oid }, el('input', { id: oid, type: 'checkbox', value: c.code, 'data-code': c.code,
                checked: Array.isArray(cur) && cur.includes(c.code), disabled: ro, onchange: () => {
                  const picked = choices.filter((x) => widget.querySelector(`input[value="${CSS.escape(x.code)}"]`).checked).map((x) => x.code);
                  set(picked);
                } }), lbl(c.label));
            }));
          label.id = inputId + '-l';
          label.removeAttribute('for');
          break;
        }
        case 'geopoint': {
          const shown = el('output', { id: inputId + '-v', class: 'geo-value' });
          const show = () => {
            const g2 = obj[f.key];
            shown.textContent = g2 ? t('geo_value', { lat: g2.lat.toFixed(6), lon: g2.lon.toFixed(6), acc: g2.acc === undefined ? '?' : Math.round(g2.acc) }) : '';
          };
          show();
          const btn = el('button', { type: 'button', id: inputId, disabled: ro, onclick: () => {
            shown.textContent = t('geo_getting');
            navigator.geolocation.getCurrentPosition((p) => {
              const v = { lat: p.coords.latitude, lon: p.coords.longitude };
              if (Number.isFinite(p.coords.accuracy)) v.acc = Math.round(p.coords.accuracy * 10) / 10;
              if (Number.isFinite(p.coords.altitude)) v.alt = p.coords.altitude;
              set(v);
              show();
            }, (e) => { shown.textContent = t('geo_failed', { reason: e.message || e.code }); },
            { enableHighAccuracy: true, timeout: 60000, maximumAge: 0 });
          } }, t('geo_get'));
          widget = el('div', { class: 'geo' }, btn, shown,
            el('button', { type: 'button', class: 'secondary', disabled: ro, onclick: () => { set(undefined); show(); } }, t('geo_clear')));
          break;
        }
        default:
          widget = el('input', { id: inputId, type: 'text', value: cur === undefined ? '' : JSON.stringify(cur), disabled: true });
      }
      if (conflicted.has(path)) div.classList.add('conflicted');
      div.append(label, widget, err);
      reg.set(path, { div, err, locator });
      return div;
    }

    function repeatGroup(f, obj, prefix, locator) {
      const path = prefix + f.key;
      const box = el('fieldset', { class: 'repeat', 'data-path': path }, el('legend', { text: lbl(f.label) + (f.required ? ' *' : '') }));
      const err = el('p', { class: 'error', role: 'status' });
      const items = Array.isArray(obj[f.key]) ? obj[f.key] : [];
      items.forEach((item, i) => {
        const itemId = String(item[f.item_id]);
        const itemPrefix = `${path}[${itemId}].`;
        const ibox = el('div', { class: 'item', 'data-path': `${path}[${itemId}]` },
          el('h4', { text: t('item_n', { label: lbl(f.label), n: i + 1 }) }));
        for (const c of f.fields) {
          if (c.key === f.item_id) continue;
          if (c.type === 'repeat') ibox.append(repeatGroup(c, item, itemPrefix, [...locator, f.key, { idKey: f.item_id, id: itemId }]));
          else ibox.append(question(c, item, itemPrefix, [...locator, f.key, { idKey: f.item_id, id: itemId }, c.key]));
        }
        if (!readOnly) {
          ibox.append(el('button', { type: 'button', class: 'secondary remove-item', onclick: async () => {
            obj[f.key] = (Array.isArray(obj[f.key]) ? obj[f.key] : []).filter((x) => x !== item);
            if (!obj[f.key].length) delete obj[f.key];
            await persistDraft();
            render();
          } }, t('remove_item')));
        }
        box.append(ibox);
      });
      if (!readOnly && items.length < (f.max_items || 200)) {
        box.append(el('button', { type: 'button', class: 'add-item', 'data-repeat': f.key, onclick: async () => {
          const item = { [f.item_id]: S.uuid4() };
          // Item fields the app fills: who made the visit.
          for (const c of f.fields) if (c.computed && !c.calculated && c.type === 'text' && c.key !== f.item_id && /_by$/.test(c.key)) item[c.key] = device.user.username;
          obj[f.key] = [...(Array.isArray(obj[f.key]) ? obj[f.key] : []), item];  // the array now, not when drawn
          await persistDraft();
          render();
        } }, `${t('add_item')}: ${lbl(f.label)}`));
      }
      box.append(err);
      reg.set(path, { div: box, err, locator });
      return box;
    }

    const banner = el('div', { class: 'banners' });
    const formBox = el('div', { class: 'form', id: 'form' });
    const msg = el('p', { class: 'error', id: 'save-msg', role: 'alert' });

    function render() {
      reg.clear();
      formBox.replaceChildren();
      const review = form.fields.filter((f) => f.key === 'review_status');  // asked last: "finished?"
      for (const f of [...form.fields.filter((x) => x.key !== 'review_status'), ...review]) {
        if (HIDDEN_HEADER.has(f.key)) continue;
        if (f.type === 'repeat') formBox.append(repeatGroup(f, draft.body, '', []));
        else formBox.append(question(f, draft.body, '', [f.key]));
      }
      refresh();
    }

    async function refresh() {
      const r = await E.evaluate(key, fillHeader(JSON.parse(JSON.stringify(draft.body))), today, lang);
      lastEval = r;
      if (r.available && !r.errors.length) msg.textContent = '';  // "n answers need attention" is answered
      const rel = new Map((r.states || []).map((s) => [s.path, s.relevant]));
      const errs = new Map();
      for (const e of r.errors) if (!errs.has(e.path)) errs.set(e.path, e);
      const warns = new Map();
      for (const w of r.warnings) if (!warns.has(w.path)) warns.set(w.path, w);
      for (const [path, x] of reg) {
        if (rel.has(path)) x.div.hidden = !rel.get(path);
        if (x.calc) {
          const v = resolve(r.body, x.locator);
          x.calc.textContent = v === undefined ? '—' : String(v);
        }
        const server = serverReasons.get(path);
        const e = errs.get(path);
        const w = warns.get(path);
        let text = '';
        if (server) text = t('rejected_reason', { reason: `${errText(server)} ${server.message || ''}`.trim() });
        else if (e && e.code !== 'not_relevant' && (showAll || touched.has(path))) text = e.code === 'constraint' ? e.message : errText(e);
        else if (w && (showAll || touched.has(path))) text = w.message;
        x.err.textContent = text;
        x.div.classList.toggle('has-error', !!(server || (e && e.code !== 'not_relevant' && (showAll || touched.has(path)))));
        x.div.classList.toggle('has-warning', !!(w && !e));
      }
    }

    // The common header (FORMS.md §2): filled once, when the record is first saved, and kept by later
    // edits, so that two tablets editing one record never disagree about them (no false conflicts).
    function fillHeader(body) {
      body.enumerator_id = body.enumerator_id || device.user.username;
      body.team_id = body.team_id || g.scope.municipality;
      body.device_id = body.device_id || device.device_name;
      body.app_version = body.app_version || Y.APP;
      body.started_at = body.started_at || draft.started_at || localIso(Date.now());
      if (!body.ended_at) body.ended_at = localIso(Math.max(Date.now(), Date.parse(body.started_at) || 0));
      if (!body.review_status) body.review_status = 'submitted';
      return body;
    }

    async function save() {
      const r = await E.evaluate(key, fillHeader(JSON.parse(JSON.stringify(draft.body))), today, lang);
      if (r.available && r.errors.length) {
        showAll = true;
        await refresh();
        msg.textContent = t('cannot_save', { n: r.errors.length });
        const first = [...reg.values()].find((x) => x.div.classList.contains('has-error') && !x.div.hidden);
        if (first) first.div.scrollIntoView({ block: 'center' });
        return;
      }
      const body = r.body;
      const changedList = S.changedPaths(base ? base.body : {}, body, form);
      if (base && !changedList.length) {
        await S.dropDraft(id);
        location.hash = '#/';
        return;
      }
      await S.saveEdit({ record: id, form: g.form, form_version: form.version, scope: g.scope, body, changed: changedList,
                         context: base ? base.clock : (g.view.current ? g.view.current.clock : {}) });
      flash(t('saved'), 'ok');
      P.collect().catch(() => {});  // a photo replaced or removed before this save is no longer needed
      location.hash = '#/';
      status();
    }

    async function remove() {
      if (!confirm(t('confirm_delete'))) return;
      await S.saveEdit({ record: id, form: g.form, form_version: form.version, scope: g.scope, deleted: true, changed: [],
                         context: g.view.current ? g.view.current.clock : {} });
      flash(t('explain_delete_pending'), 'ok');
      location.hash = '#/';
      status();
    }

    const explain = { conflict: t('explain_conflict', { fields: [...conflicted].join(', ') || '—' }),
                      deletion_pending: t('explain_deletion_pending'), rejected: t('explain_rejected'),
                      pending: t('explain_pending'), deleted_pending: t('explain_delete_pending') };
    if (explain[g.state]) banner.append(el('p', { class: 'banner ' + g.state, id: 'record-state', 'data-state': g.state, text: explain[g.state] }));
    if (rejected && TOO_LARGE.has(rejected.code)) banner.append(el('p', { class: 'banner rejected', id: 'too-large', text: t('explain_too_large') }));
    else if (rejected && rejected.code !== 'invalid_record') banner.append(el('p', { class: 'banner rejected', text: t('rejected_reason', { reason: `${rejected.code}: ${rejected.detail}` }) }));
    if (!(await E.ready)) banner.append(el('p', { class: 'banner info', id: 'no-engine', text: t('no_validation') }));
    const title = lbl(form.title);
    const actions = readOnly ? el('div', { class: 'actions' })
      : el('div', { class: 'actions' }, el('button', { type: 'button', class: 'primary', id: 'save', onclick: save }, t('save')),
        base ? el('button', { type: 'button', class: 'danger', id: 'delete', onclick: remove }, t('delete')) : null, msg);
    if (mine !== routeSeq) return;
    main.replaceChildren(el('a', { href: '#/', class: 'back', text: '← ' + t('back') }),
      el('h2', {}, title, ' ', el('span', { class: 'badge ' + g.state, text: t(BADGE[g.state]) })),
      el('p', { class: 'rmeta', text: `${g.scope.municipality} · ${g.scope.community} · ${g.scope.component} · ${id}` }),
      banner, formBox, actions);
    if (!g.draft && !readOnly) { draft.started_at = draft.started_at || (base && base.body.started_at) || localIso(Date.now()); }
    render();
    page = { id, rerender: () => showRecord(id) };
  }

  // ---- sync, backup, storage --------------------------------------------------------------------------
  async function doSync() {
    if (syncing || !device) return;
    syncing = true;
    const btn = document.getElementById('sync');
    btn.disabled = true;
    btn.textContent = t('syncing');
    try {
      const sum = await Y.sync((what, n) => status(what === 'pushing' ? t('sync_pushing', { n })
        : what === 'photos' ? (n.done < n.total ? t('sync_photos', { i: n.done + 1, n: n.total, pct: n.size ? Math.floor(100 * n.bytes / n.size) : 0 }) : '')
          : what === 'waiting' ? (n && n.status ? t('sync_waiting_server', { status: n.status }) : t('sync_waiting')) : t('sync_pulling')));
      reenrol = false;  // the token works (again)
      flash(t('sync_done', { pushed: sum.pushed, pulled: sum.pulled }) + (sum.photos_sent ? ' ' + t('sync_photos_done', { n: sum.photos_sent }) : ''), 'ok');
    } catch (e) {
      if (e.kind === 'unauthenticated') reenrol = true;
      flash(e.kind === 'unauthenticated' ? t('sync_unauth')
        : t('sync_failed', { reason: e.kind === 'server_full' ? t('reason_server_full') : e.message }), 'warn');
    } finally {
      syncing = false;
      btn.disabled = false;
      btn.textContent = t('sync');
      await status();
      if (!page || reenrol) route();
    }
  }

  // Every unsynced edit (exact texts, as `aktsync import` pushes them), every draft and the photo files they
  // refer to, in one file.
  async function backup() {
    const all = await S.tx(['edits', 'drafts', 'rejected'], 'readonly', async (s) => ({
      edits: await S.all(s.edits), drafts: await S.all(s.drafts), rejected: (await S.all(s.rejected)).filter((r) => !r.answered)
    }));
    const unsent = all.edits.filter((e) => !e.acked_epoch).sort((a, b) => a.n - b.n);
    const edits = unsent.map((e) => JSON.parse(e.text));
    const refs = new Set();
    for (const x of [...unsent, ...all.drafts, ...all.rejected]) P.refsIn(x.body, refs);
    const photos = await P.forBackup(refs);
    const data = { v: 1, kind: 'aktsync-backup', actor: device.actor, user: device.user.username, device_name: device.device_name,
                   created_at: Date.now(), edits, drafts: all.drafts, rejected: all.rejected, photos };
    const blob = new Blob([JSON.stringify(data, null, 1)], { type: 'application/json' });
    const a = el('a', { href: URL.createObjectURL(blob), download: `aktsync-backup-${device.device_name}-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.json` });
    document.body.append(a);
    a.click();
    a.remove();
    flash(t('backup_done', { n: edits.length + all.drafts.length }) + (photos.length ? ' ' + t('backup_photos', { n: photos.length }) : ''), 'ok');
  }

  async function askPersistence() {
    const w = document.getElementById('storage-warning');
    if (!navigator.storage || !navigator.storage.persist) { w.hidden = false; w.textContent = t('storage_refused'); return; }
    let ok = await navigator.storage.persisted();
    if (!ok) ok = await navigator.storage.persist().catch(() => false);
    w.hidden = ok;
    w.textContent = ok ? '' : t('storage_refused');
  }

  // ---- routing and start ------------------------------------------------------------------------------
  // Pages are read asynchronously; each route() call is a generation, and a page whose generation is no
  // longer the latest when its data arrives does not show itself.
  let routeSeq = 0;
  async function route() {
    routeSeq++;
    stopScan();
    if (!device || reenrol) { showEnrol(reenrol ? t('sync_unauth') : ''); return; }
    const h = location.hash || '#/';
    if (h.startsWith('#/r/')) await showRecord(decodeURIComponent(h.slice(4)));
    else if (h === '#/new') await showNew();
    else await showList();
  }

  async function start() {
    // An upgrade of the local store (an app update) runs as the store is first opened, before the language
    // is read from it: its progress is shown in the language last chosen on this tablet (kept in
    // localStorage too for this), else in the three.
    let shown = null;
    try { shown = localStorage.getItem('akt-lang'); } catch (_) { /* none */ }
    S.onUpgradeProgress((done, total) => {
      const pct = total ? Math.floor((100 * done) / total) : 100;
      let p = document.getElementById('upgrading');
      if (!p) { p = el('p', { id: 'upgrading', class: 'card', role: 'status' }); main.replaceChildren(p); }
      p.textContent = (M[shown] ? [shown] : ['sq', 'sr', 'en']).map((l) => M[l].upgrading.split('{pct}').join(String(pct))).join(' / ');
    });
    lang = (await S.meta('lang')) || 'en';
    const keepLang = () => { try { localStorage.setItem('akt-lang', lang); } catch (_) { /* the store has it */ } };
    keepLang();
    device = (await S.meta('device')) || null;
    const sel = document.getElementById('lang');
    sel.value = lang;
    sel.addEventListener('change', async () => {
      lang = sel.value;
      keepLang();
      await S.setMeta({ lang });
      applyLanguageTexts();
      await status();
      if (page) await page.rerender(); else await route();
    });
    document.getElementById('sync').addEventListener('click', doSync);
    document.getElementById('backup').addEventListener('click', backup);
    window.addEventListener('hashchange', () => {
      if (flashSticky) flashSticky = false; else flash('');
      route();
    });
    window.addEventListener('online', () => { status(); doSync(); });
    window.addEventListener('offline', () => status());
    applyLanguageTexts();
    if ('serviceWorker' in navigator) {
      const hadController = !!navigator.serviceWorker.controller;
      navigator.serviceWorker.addEventListener('controllerchange', () => { if (hadController) flash(t('updated'), 'ok'); });
      navigator.serviceWorker.register('sw.js', { scope: './' }).catch(() => {});
    }
    if (device) askPersistence();
    await E.ready;
    document.body.dataset.engine = (await E.ready) ? 'wasm' : 'none';
    await route();
    await status();
    document.body.dataset.ready = '1';
    if (device && navigator.onLine) doSync();
  }

  start().catch((e) => { main.replaceChildren(el('p', { class: 'error', text: String(e && e.stack || e) })); });
})();
