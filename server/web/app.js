// aktsync web console: plain JavaScript, no framework, no network access beyond this server.
// The session token lives in sessionStorage (gone when the tab closes) and travels only in the
// Authorization header: no cookies, so no cross-site request can act as the user (docs/SECURITY.md).
// Every datum is put into the page with textContent, never as HTML.
'use strict';
(function () {
  const CATALOGUE = window.AKT_MESSAGES || { en: {} };
  const LANGS = ['en', 'sq', 'sr'];
  let lang = LANGS.includes(localStorage.getItem('akt.lang')) ? localStorage.getItem('akt.lang') : 'en';
  let flashMessage = null;
  const formCache = new Map();

  function t(key, vars) {
    let s = (CATALOGUE[lang] && CATALOGUE[lang][key]) || CATALOGUE.en[key] || key;
    if (vars) for (const k of Object.keys(vars)) s = s.split('{' + k + '}').join(String(vars[k]));
    return s;
  }

  // ---- DOM helpers -------------------------------------------------------------------------------
  function h(tag, attrs, ...children) {
    const svg = tag.startsWith('svg:');
    const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      else if (k === 'text') el.textContent = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  const $ = (id) => document.getElementById(id);
  function show(...nodes) { $('main').replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined && n !== false)); }
  function flash(kind, text) {
    const f = $('flash');
    if (!text) { f.hidden = true; f.replaceChildren(); return; }
    f.hidden = false;
    f.className = kind;
    f.setAttribute('data-testid', 'flash');
    f.replaceChildren(text);
  }

  // Numbers and dates in the chosen language's conventions (sq and sr: decimal comma), through Intl with
  // the locale of the language (the console's Serbian is Latin). Times are shown in UTC, saying so. A
  // browser without the locale's data (Debian's Chromium has no Albanian; a build may lack Serbian) gets
  // the conventions from CONVENTIONS instead of silently falling back to English month names.
  const LOCALES = { en: 'en-GB', sq: 'sq-AL', sr: 'sr-Latn-RS' };
  const CONVENTIONS = { sq: { decimal: ',', group: '\u00a0', date: '{d}.{m}.{y}, {H}:{M}', short: '{day} {month} {y}, {H}:{M}' },
    sr: { decimal: ',', group: '.', date: '{d}.{m}.{y}. {H}:{M}', short: '{day}. {month} {y}. {H}:{M}' } };
  const formatters = new Map();
  function intl(kind, opts) {
    const key = lang + kind + JSON.stringify(opts);
    if (!formatters.has(key)) {
      const native = Intl[kind].supportedLocalesOf([LOCALES[lang]]).length > 0;
      formatters.set(key, { native, f: new Intl[kind](native ? LOCALES[lang] : 'en-GB', opts) });
    }
    return formatters.get(key);
  }
  // An answer or a count: no grouping (years, codes and household numbers read as typed), at most 10
  // decimals. `grouped` for large aggregates (indicators).
  function fmtNumber(n, grouped) {
    if (typeof n !== 'number' || !Number.isFinite(n)) return String(n);
    const { native, f } = intl('NumberFormat', { maximumFractionDigits: grouped ? 2 : 10, useGrouping: Boolean(grouped) });
    if (native || !CONVENTIONS[lang]) return f.format(n);
    const c = CONVENTIONS[lang];
    return f.formatToParts(n).map((p) => (p.type === 'decimal' ? c.decimal : p.type === 'group' ? c.group : p.value)).join('');
  }
  // A date and time by the language's pattern, from the UTC parts of `ms`.
  function byPattern(pattern, ms) {
    const d = new Date(ms);
    const two = (v) => String(v).padStart(2, '0');
    const parts = { d: two(d.getUTCDate()), day: d.getUTCDate(), m: two(d.getUTCMonth() + 1), month: t('months').split(',')[d.getUTCMonth()],
      y: d.getUTCFullYear(), H: two(d.getUTCHours()), M: two(d.getUTCMinutes()) };
    return pattern.replace(/\{(\w+)\}/g, (all, k) => String(parts[k]));
  }
  function fmtDate(ms, opts, pattern) {
    const { native, f } = intl('DateTimeFormat', { ...opts, hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: 'UTC' });
    return (native || !CONVENTIONS[lang] ? f.format(new Date(ms)) : byPattern(CONVENTIONS[lang][pattern], ms)) + ' UTC';
  }
  function fmtTime(ms) {
    if (!ms) return t('never');
    return fmtDate(ms, { year: 'numeric', month: '2-digit', day: '2-digit' }, 'date');
  }
  function fmtAge(ms) {
    if (!ms) return t('never');
    const s = Math.max(0, (Date.now() - ms) / 1000);
    if (s < 90) return t('age_now');
    if (s < 5400) return t('age_minutes', { n: Math.round(s / 60) });
    if (s < 129600) return t('age_hours', { n: Math.round(s / 3600) });
    return t('age_days', { n: Math.round(s / 86400) });
  }
  // A photo answer is a reference to a file (PROTOCOL §14.1): shown by its size and type, never its digest.
  const kAttachmentRef = /^sha256:([0-9a-f]{64});size=([0-9]+);type=([a-z]+\/[a-z0-9.+-]+)$/;
  function fmtBytes(n) {
    if (n < 1024) return n + ' B';
    if (n < 1024 * 1024) return fmtNumber(Math.round(n / 102.4) / 10) + ' KB';
    return fmtNumber(Math.round(n / 104857.6) / 10) + ' MB';
  }
  function photoText(v) {
    const m = typeof v === 'string' && kAttachmentRef.exec(v);
    return m ? t('photo_ref', { size: fmtBytes(Number(m[2])), type: m[3].replace('image/', '').toUpperCase() }) : null;
  }
  // A photo answer's cell: its size and type, and a thumbnail the browser makes from GET /v1/blobs/{digest}
  // (decoded by createImageBitmap and drawn on a canvas at most THUMB px on its longer side, so that no
  // full-size image sits in the page); a click shows the full photo (an object URL, revoked once the
  // image has loaded). "Not yet uploaded" when the server lacks the file (the record says so, or the blob
  // is not there yet); "cannot be shown" when the caller may not read it.
  const THUMB = 320;
  function photoCell(v, testid, label, pending) {
    const text = photoText(v);
    if (!text) return null;
    const cell = h('td', { class: 'value', 'data-testid': testid }, h('div', { text }));
    const notYet = () => h('span', { class: 'badge warn', 'data-testid': 'photo-pending', text: t('photo_pending') });
    const unavailable = () => h('span', { class: 'muted', 'data-testid': 'photo-unavailable', text: t('photo_unavailable') });
    if (pending) { cell.append(notYet()); return cell; }
    const slot = h('div', { class: 'muted', text: t('loading') });
    cell.append(slot);
    (async () => {
      try {
        const res = await api('GET', '/v1/blobs/' + v.slice(7, 71), undefined, true);
        if (res.status === 404) { slot.replaceWith(notYet()); return; }
        if (!res.ok) { slot.replaceWith(unavailable()); return; }
        const blob = await res.blob();
        const bitmap = await createImageBitmap(blob);
        const scale = Math.min(1, THUMB / Math.max(bitmap.width, bitmap.height));
        const canvas = h('canvas', { width: Math.max(1, Math.round(bitmap.width * scale)), height: Math.max(1, Math.round(bitmap.height * scale)),
          role: 'img', 'aria-label': t('photo_alt', { field: label }) });
        canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        bitmap.close();
        const open = h('button', { type: 'button', class: 'thumb', 'data-testid': 'photo-open', title: t('photo_open') }, canvas);
        open.addEventListener('click', () => showPhoto(blob, label));
        slot.replaceWith(open);
      } catch (e) {
        if (!(e instanceof SessionEnded)) slot.replaceWith(unavailable());
      }
    })();
    return cell;
  }
  function showPhoto(blob, label) {
    const url = URL.createObjectURL(blob);
    const img = h('img', { src: url, alt: t('photo_alt', { field: label }), 'data-testid': 'photo-full-image' });
    img.addEventListener('load', () => URL.revokeObjectURL(url), { once: true });
    img.addEventListener('error', () => URL.revokeObjectURL(url), { once: true });
    const close = h('button', { type: 'button', class: 'secondary', 'data-testid': 'photo-close', text: t('close') });
    const dialog = h('dialog', { class: 'photo-full', 'data-testid': 'photo-full' }, h('div', { class: 'actions' }, close), img);
    close.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
  }
  function fmtValue(v) {
    if (v === undefined) return '—';
    if (v === null) return t('value_null');
    if (typeof v === 'string') return photoText(v) || v;
    if (typeof v === 'number') return fmtNumber(v);
    return JSON.stringify(v);
  }

  // ---- Session and API ---------------------------------------------------------------------------
  function session() {
    try {
      const s = JSON.parse(sessionStorage.getItem('akt.session'));
      // expires_at is server time: it is trusted here only if this computer's clock agreed at sign-in
      // (otherwise the server's 401 ends the session).
      if (s && s.token && (!s.clock_ok || s.expires_at > Date.now())) return s;
    } catch (e) { /* unreadable: signed out */ }
    return null;
  }
  class SessionEnded extends Error {}
  function endSession(message) {
    sessionStorage.removeItem('akt.session');
    flashMessage = message ? ['warning', message] : null;
    if (location.hash !== '#/signin') location.hash = '#/signin'; else render();
  }

  async function api(method, path, body, raw) {
    const s = session();
    if (!s) { endSession(t('session_ended')); throw new SessionEnded(); }
    // The server's own messages (a field's problem when a release or a resolution is refused) come in the
    // console's language (PROTOCOL §4.4); its Serbian is Latin.
    const headers = { Authorization: 'Bearer ' + s.token, 'Accept-Language': lang === 'sr' ? 'sr-Latn' : lang };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    // A string is sent as written (a form definition: the server reports problems by its path in it).
    const sent = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const r = await fetch(path, { method, headers, body: sent,
      cache: 'no-store', credentials: 'omit', redirect: 'error' });
    if (r.status === 401) { endSession(t('session_ended')); throw new SessionEnded(); }
    if (raw) return r;
    const text = await r.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    return { status: r.status, ok: r.ok, data };
  }
  function problemText(res) {
    const d = res.data || {};
    return (d.code ? d.code + ': ' : '') + (d.detail || d.title || ('HTTP ' + res.status));
  }

  // ---- Forms and labels --------------------------------------------------------------------------
  // A form version's definition as the parser reads it: with the shared choice lists it names ("L:...")
  // and the common header's fields (GET /v1/shared-definitions, fetched once), so that every answer and
  // question has its label in the chosen language.
  let shared = null;
  function sharedDefinitions() {
    if (!shared) {
      shared = api('GET', '/v1/shared-definitions').then((r) => (r.ok ? r.data : null)).catch(() => null)
        .then((d) => { if (!d) shared = null; return d || { choice_lists: {}, header_fields: [] }; });
    }
    return shared;
  }
  async function formDef(formId, version) {
    const key = formId + '/' + version;
    if (!formCache.has(key)) {
      formCache.set(key, Promise.all([api('GET', '/v1/forms/' + encodeURIComponent(formId) + '/' + version), sharedDefinitions()])
        .then(([r, common]) => {
          if (!r.ok || !r.data || typeof r.data !== 'object') return null;
          const def = r.data;
          def.choice_lists = { ...common.choice_lists, ...(def.choice_lists || {}) };
          def.header_fields = common.header_fields || [];
          return def;
        }).catch(() => null));
    }
    return formCache.get(key);
  }
  function pickLang(label, fallback) {
    if (!label) return fallback;
    if (typeof label === 'string') return label;
    // Serbian labels are Cyrillic in the definitions; the console's Serbian is Latin.
    if (lang === 'sr' && label.sr) return window.AKT_SR_LATIN(label.sr);
    return label[lang] || label.en || fallback;
  }
  function findField(def, key) {
    const walk = (fields) => {
      for (const f of fields || []) {
        if (f.key === key) return f;
        const inner = walk(f.fields);
        if (inner) return inner;
      }
      return null;
    };
    return def ? walk(def.fields) || walk(def.header_fields) : null;
  }
  function fieldLabel(def, path) {
    const key = String(path).replace(/\[[^\]]*\]/g, '').split('.').pop();
    const f = findField(def, key);
    return f ? pickLang(f.label, path) : path;
  }
  function formTitle(def, formId) { return def ? pickLang(def.title, formId) : formId; }

  // ---- Navigation --------------------------------------------------------------------------------
  const PAGES = {
    inbox: { roles: ['admin', 'supervisor'], nav: 'nav_inbox' },
    conflict: { roles: ['admin', 'supervisor'] },
    team: { roles: ['admin', 'supervisor', 'me_officer'], nav: 'nav_team' },
    datasets: { roles: ['admin', 'supervisor', 'me_officer'], nav: 'nav_datasets' },
    quarantine: { roles: ['admin', 'supervisor'], nav: 'nav_quarantine' },
  };
  // Pages of admin.js (users, tablets, audit, submissions, a record) join the table at start().
  function placeName(kind, code) {
    const P = window.AKT_PLACES || { municipalities: {}, communities: {} };
    if (kind === 'municipality') {
      const m = P.municipalities[code];
      return m ? (lang === 'sr' ? m[1] : m[0]) : code;
    }
    const c = P.communities[code];
    return c ? (lang === 'sq' ? c[1] : lang === 'sr' ? c[2] : c[0]) : code;
  }
  function placeText(scope) {
    return placeName('municipality', scope.municipality) + ' · ' + placeName('community', scope.community);
  }
  // "the version of 2 Dec 14:05 by the tablet of enumerator1": a version named for people, never by its clock.
  function fmtShort(ms) {
    return fmtDate(ms || 0, { day: 'numeric', month: 'short', year: 'numeric' }, 'short');
  }
  // A day as people of the chosen language write it (dd.mm.yyyy in sq and sr, dd/mm/yyyy in en), not
  // as the browser's locale would: <input type=date> shows the browser's conventions whatever the
  // console's language. `el.iso()` is the day as YYYY-MM-DD, '' when empty, null when not a date (an
  // ISO date typed in is taken too). `dateValid(inputs)` marks a wrong one and says whether all are valid.
  function dateInput(testid, iso) {
    const sep = lang === 'en' ? '/' : '.';
    const shown = /^\d{4}-\d{2}-\d{2}$/.test(iso || '') ? iso.slice(8, 10) + sep + iso.slice(5, 7) + sep + iso.slice(0, 4) : '';
    const el = h('input', { type: 'text', inputmode: 'numeric', autocomplete: 'off', size: 11, value: shown,
      placeholder: t('date_pattern'), 'data-testid': testid });
    el.iso = () => {
      const v = el.value.trim();
      if (!v) return '';
      const m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(v) || /^(\d{1,2})[./](\d{1,2})[./](\d{4})\.?$/.exec(v);
      if (!m) return null;
      const [y, mo, d] = m[1].length === 4 ? [+m[1], +m[2], +m[3]] : [+m[3], +m[2], +m[1]];
      const day = new Date(Date.UTC(y, mo - 1, d));
      if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return null;
      return day.toISOString().slice(0, 10);
    };
    el.addEventListener('input', () => el.setCustomValidity(''));
    return el;
  }
  function dateValid(inputs) {
    for (const el of inputs) {
      if (el.iso() !== null) continue;
      el.setCustomValidity(t('date_invalid', { pattern: t('date_pattern') }));
      el.reportValidity();
      return false;
    }
    return true;
  }
  function homeFor(role) {
    return role === 'admin' || role === 'supervisor' ? 'inbox' : role === 'me_officer' ? 'datasets' : 'home';
  }

  function renderChrome(s, page) {
    document.documentElement.lang = lang;
    $('lang').value = lang;
    $('lang-label').textContent = t('language');
    $('signout').textContent = t('sign_out');
    $('signout').hidden = !s;
    $('who').textContent = s ? s.user.username + ' · ' + t('role_' + s.user.role) : '';
    const nav = $('nav');
    nav.replaceChildren();
    if (!s) return;
    for (const [name, p] of Object.entries(PAGES)) {
      if (!p.nav || !p.roles.includes(s.user.role)) continue;
      nav.append(h('a', { href: '#/' + name, class: page === name || (page === 'conflict' && name === 'inbox') || (page === 'form' && name === 'forms') ? 'active' : null,
        'data-testid': 'nav-' + name, text: t(p.nav) }));
    }
  }

  let answerTextFn = null;
  let renderToken = 0;
  async function render() {
    const mine = ++renderToken;
    const s = session();
    const parts = location.hash.replace(/^#\/?/, '').split('?')[0].split('/');
    let page = parts[0] || '';
    if (!s && page !== 'signin') { location.hash = '#/signin'; return; }
    if (s && (page === 'signin' || page === '')) { location.hash = '#/' + homeFor(s.user.role); return; }
    renderChrome(s, page);
    if (flashMessage) { flash(flashMessage[0], flashMessage[1]); flashMessage = null; } else flash();
    try {
      if (page === 'signin') return renderSignIn();
      if (page === 'home') return renderHome(s);
      const p = PAGES[page];
      if (!p) return show(h('h1', { text: t('not_found') }));
      if (!p.roles.includes(s.user.role)) {
        return show(h('h1', { text: t('denied_title') }),
          h('p', { class: 'error', 'data-testid': 'denied', text: t('denied_text', { role: t('role_' + s.user.role) }) }));
      }
      show(h('p', { class: 'muted', text: t('loading') }));
      const view = await (p.render ? p.render(parts, s) : ({ inbox: renderInbox, conflict: () => renderConflict(parts[1]),
        team: renderTeam, datasets: renderDatasets, quarantine: renderQuarantine })[page]());
      if (mine === renderToken && view) show(...[].concat(view));
    } catch (e) {
      if (e instanceof SessionEnded) return;
      if (mine === renderToken) show(h('p', { class: 'error', text: t('network_error') + ' ' + e.message }));
    }
  }

  // ---- Sign-in -----------------------------------------------------------------------------------
  function renderSignIn() {
    const user = h('input', { type: 'text', id: 'username', name: 'username', autocomplete: 'username', required: true });
    const pass = h('input', { type: 'password', id: 'password', name: 'password', autocomplete: 'current-password', required: true });
    const msg = h('div');
    const form = h('form', { class: 'card signin', 'data-testid': 'signin' },
      h('h1', { text: t('signin_title') }),
      h('label', {}, t('username'), user), h('label', {}, t('password'), pass), msg,
      h('button', { type: 'submit', 'data-testid': 'signin-submit', text: t('sign_in') }));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      msg.replaceChildren();
      let r;
      try {
        r = await fetch('/v1/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ username: user.value.trim(), password: pass.value }), credentials: 'omit', cache: 'no-store' });
      } catch (e) {
        msg.replaceChildren(h('p', { class: 'error', text: t('network_error') }));
        return;
      }
      const data = await r.json().catch(() => ({}));
      if (!r.ok) {
        const key = r.status === 429 ? 'signin_throttled' : r.status === 401 ? 'signin_failed' : null;
        msg.replaceChildren(h('p', { class: 'error', 'data-testid': 'signin-error', text: key ? t(key) : problemText({ status: r.status, data }) }));
        return;
      }
      pass.value = '';
      sessionStorage.setItem('akt.session', JSON.stringify({ token: data.token, expires_at: data.expires_at,
        clock_ok: data.expires_at > Date.now() + 60000, user: data.user }));
      location.hash = '#/' + homeFor(data.user.role);
    });
    show(form);
    user.focus();
  }

  function renderHome(s) {
    show(h('h1', { text: t('welcome', { user: s.user.username }) }),
      h('p', { class: 'explain', 'data-testid': 'enumerator-home', text: t('enumerator_home') }));
  }

  // ---- Conflict inbox ----------------------------------------------------------------------------
  const inboxFilter = { status: 'open', kind: '', form: '', municipality: '', age: '' };
  async function listForms() {
    const r = await api('GET', '/v1/forms');
    return r.ok ? r.data.forms : [];
  }
  // The newest published definition of each form (titles and field labels in the chosen language).
  async function latestDefs(forms) {
    const newest = new Map();
    for (const f of forms) if (!newest.has(f.form_id) || newest.get(f.form_id).version < f.version) newest.set(f.form_id, f);
    const defs = new Map();
    await Promise.all([...newest.values()].map(async (f) => defs.set(f.form_id, (await formDef(f.form_id, f.version)) || { title: f.title })));
    return defs;
  }
  function select(id, options, value, testid) {
    const el = h('select', { id, 'data-testid': testid });
    for (const [v, label] of options) el.append(h('option', { value: v, text: label }));
    el.value = value;
    return el;
  }

  async function renderInbox() {
    const forms = await listForms();
    const formIds = [...new Set(forms.map((f) => f.form_id))];
    const q = new URLSearchParams({ status: inboxFilter.status === '' ? 'all' : inboxFilter.status, limit: '500' });
    if (inboxFilter.kind) q.set('kind', inboxFilter.kind);
    if (inboxFilter.form) q.set('form', inboxFilter.form);
    if (inboxFilter.municipality) q.set('municipality', inboxFilter.municipality.trim().toLowerCase());
    if (inboxFilter.age) q.set('older_than_ms', String(Number(inboxFilter.age) * 86400000));
    const r = await api('GET', '/v1/admin/conflicts?' + q.toString());
    if (!r.ok) return h('p', { class: 'error', text: problemText(r) });
    const defs = await latestDefs(forms);

    const fStatus = select('f-status', [['open', t('status_open')], ['resolved', t('status_resolved')], ['', t('all')]], inboxFilter.status, 'filter-status');
    const fKind = select('f-kind', [['', t('all')], ['field', t('kind_field')], ['delete_edit', t('kind_delete_edit')],
      ['semantic', t('kind_semantic')], ['permission', t('kind_permission')], ['locked_change', t('kind_locked_change')],
      ['duplicate_candidate', t('kind_duplicate_candidate')]], inboxFilter.kind, 'filter-kind');
    const fForm = select('f-form', [['', t('all')], ...formIds.map((id) => [id, pickLang(defs.get(id).title, id)])], inboxFilter.form, 'filter-form');
    const fMun = h('input', { type: 'text', id: 'f-mun', value: inboxFilter.municipality, placeholder: 'gracanice', 'data-testid': 'filter-municipality' });
    const fAge = select('f-age', [['', t('age_any')], ['1', t('older_than_days', { n: 1 })], ['7', t('older_than_days', { n: 7 })],
      ['30', t('older_than_days', { n: 30 })]], inboxFilter.age, 'filter-age');
    const apply = () => {
      Object.assign(inboxFilter, { status: fStatus.value, kind: fKind.value, form: fForm.value, municipality: fMun.value, age: fAge.value });
      render();
    };
    const filters = h('form', { class: 'filters', on: { submit: (e) => { e.preventDefault(); apply(); } } },
      h('label', {}, t('status'), fStatus), h('label', {}, t('kind'), fKind), h('label', {}, t('form'), fForm),
      h('label', {}, t('municipality'), fMun), h('label', {}, t('age'), fAge),
      h('button', { type: 'submit', 'data-testid': 'filter-apply', text: t('apply') }));

    const rows = r.data.entries.map((e) => h('tr', { 'data-testid': 'inbox-row' },
      h('td', { class: 'num', text: e.id }),
      h('td', {}, h('span', { class: 'badge' + (e.kind === 'field' ? '' : ' warn'), text: t('kind_' + e.kind) })),
      h('td', { text: defs.has(e.form) ? pickLang(defs.get(e.form).title, e.form) : e.form }),
      e.kind === 'duplicate_candidate'
        ? h('td', { text: Array.isArray((e.detail || {}).key) ? e.detail.key.map(fmtValue).join(' · ') : '—' })
        : h('td', {}, e.path ? e.path.split(',').map((p) => fieldLabel(defs.get(e.form), p)).join(', ') + ' ' : '—', e.path ? h('code', { class: 'muted', text: e.path }) : ''),
      h('td', { text: placeText(e.scope) }),
      h('td', { class: 'num', text: (e.candidates || []).length }),
      h('td', { title: fmtTime(e.opened_at), text: fmtAge(e.opened_at) }),
      h('td', {}, e.status === 'open' ? h('span', { class: 'badge bad', text: t('status_open') }) : h('span', { class: 'badge ok', text: t('status_resolved') })),
      h('td', {}, h('a', { href: '#/conflict/' + e.id, 'data-testid': 'open-' + e.id, text: t('open_conflict') }))));
    const table = rows.length
      ? h('table', { 'data-testid': 'inbox-table' }, h('thead', {}, h('tr', {}, ...['id', 'kind', 'form', 'field', 'place', 'candidates', 'opened', 'status', '']
        .map((k) => h('th', { text: k ? t('col_' + k) : '' })))), h('tbody', {}, rows))
      : h('p', { class: 'muted', 'data-testid': 'inbox-empty', text: t('inbox_empty') });
    return [h('h1', { text: t('nav_inbox') }), filters, table,
      r.data.next_before ? h('p', { class: 'muted', text: t('inbox_more') }) : null];
  }

  // ---- Conflict resolution -----------------------------------------------------------------------
  // Every kind of entry is decided here (docs/PROTOCOL.md §11.5): field and semantic entries by the
  // values chosen (one "Resolve" button for all of a record's), the others by an action button each.
  const isRepeatPath = (p) => /[[.]/.test(String(p));
  const isWholeItem = (p) => /\]$/.test(String(p));  // group[itemid]: the whole item object
  function kindExplanation(e) {
    if (e.kind === 'delete_edit') return t('explain_delete_edit');
    if (e.kind === 'semantic') return t('explain_semantic');
    if (e.kind === 'permission') return t('explain_permission');
    if (e.kind === 'locked_change') return t('explain_locked_change');
    if (e.kind === 'duplicate_candidate') return t('explain_duplicate');
    if (e.kind === 'field' && isWholeItem(e.path)) return t('explain_repeat_item');
    if (isRepeatPath(e.path)) return t('explain_repeat');
    return t('explain_field');
  }
  const open = (e) => e.status === 'open';
  const testKey = (e) => (e.kind === 'field' || e.kind === 'semantic' ? e.path : e.kind);
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

  function parseOther(text, field) {
    const type = field && field.type;
    const s = text.trim();
    if (type === 'integer' || type === 'decimal') {
      const n = Number(s);
      if (s === '' || !Number.isFinite(n)) throw new Error(t('other_not_number'));
      return n;
    }
    if (type === 'select_multiple') return s ? s.split(/[\s,]+/).filter(Boolean) : [];
    if (type === 'boolean') return s === 'true' || s === 'yes' || s === '1';
    return text;
  }
  function who(c) {
    return [c.user, c.device || (c.dot ? t('a_tablet') : null)].filter(Boolean).join(' · ') || '—';
  }
  function describeResolution(e) {
    const res = e.resolution || {};
    if (res.action) return t('action_' + res.action) + (res.record ? ' ' + res.record : '');
    if (res.values) return Object.entries(res.values).map(([k, v]) => k + ' = ' + fmtValue(v)).join(', ');
    return res.removed ? t('value_absent') : fmtValue(res.value);
  }
  function fieldsList(res) {
    const d = res.data || {};
    return Array.isArray(d.fields) && d.fields.length
      ? h('ul', { 'data-testid': 'resolve-fields' }, d.fields.map((f) => h('li', { text: (f.path || f.field || '') + ': ' + (f.message || f.code || '') })))
      : null;
  }

  // The live version as people know it: when it was stored and by whom (the record's history names them).
  async function describeVersion(record, live) {
    const hist = await api('GET', '/v1/records/' + encodeURIComponent(record) + '/history');
    const v = hist.ok ? (hist.data.versions || []).find((x) => x.live) : null;
    const at = v ? v.server_time : live.server_time;
    return t('version_of', { when: at ? fmtShort(at) : '—', who: v ? authorText(v.author) : '—' });
  }
  function authorText(a) {
    if (!a) return '—';
    if (a.kind === 'device') return a.device ? t('by_device', { device: a.device }) : t('a_tablet');
    if (a.kind === 'resolver') return t('by_user', { user: a.user });
    return t('by_server');
  }

  async function renderConflict(idText) {
    const id = Number(idText);
    const r = await api('GET', '/v1/admin/conflicts/' + id);
    if (r.status === 404) return h('p', { class: 'error', text: t('conflict_not_found') });
    if (!r.ok) return h('p', { class: 'error', text: problemText(r) });
    const main = r.data.entry;
    const state = main.record_state || { live: [] };
    const live = state.live && state.live[0] ? state.live[0] : null;
    const seen = live ? live.clock : {};
    const body = live && live.body && typeof live.body === 'object' ? live.body : {};
    const def = live ? await formDef(main.form, live.form_version) : null;

    // Every open entry of this record, so that all flagged fields are decided in one place.
    const entries = [main];
    const list = await api('GET', '/v1/admin/conflicts?limit=500&form=' + encodeURIComponent(main.form));
    if (list.ok) {
      for (const e of list.data.entries) {
        if (e.record !== main.record || e.id === main.id) continue;
        const d = await api('GET', '/v1/admin/conflicts/' + e.id);
        if (d.ok) entries.push(d.data.entry);
      }
    }
    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.id - b.id));

    const out = [h('p', {}, h('a', { href: '#/inbox', text: '← ' + t('back_to_inbox') })),
      h('h1', { 'data-testid': 'conflict-title', text: t('conflict_title', { form: formTitle(def, main.form) }) }),
      h('p', { class: 'muted' }, h('a', { href: '#/record/' + main.record, 'data-testid': 'open-record', text: t('open_record') }),
        ' · ' + t('place') + ': ', placeText(main.scope) + ' · ' + main.scope.component,
        live ? ' · ' + t('version_seen') + ': ' : '', live ? h('span', { 'data-testid': 'seen-version', text: await describeVersion(main.record, live) }) : '')];
    if (state.deletion_pending) out.push(h('p', { class: 'warning', text: t('deletion_pending') }));
    if (body.review_status === 'approved') out.push(h('p', { class: 'warning', text: t('record_locked') }));

    const status = h('div', { 'data-testid': 'resolve-status' });
    const ctx = { def, seen, body, status };
    const choices = [];  // {entry, get(): body fragment | undefined | throws}
    for (const e of entries) {
      const section = h('section', { class: 'card', 'data-testid': 'entry-' + testKey(e), 'data-entry': e.id, 'data-kind': e.kind });
      const named = e.kind === 'field' || e.kind === 'semantic' || e.kind === 'permission';
      const title = named
        ? [String(e.path).split(',').map((p) => fieldLabel(def, p)).join(', ') + ' ', h('code', { class: 'muted', text: e.path }), ' ',
          h('span', { class: 'badge warn', text: t('kind_' + e.kind) }), ' ']
        : [t('kind_' + e.kind) + ' '];
      section.append(h('h2', {}, ...title,
        h('span', { class: 'badge' + (open(e) ? ' bad' : ' ok'), text: open(e) ? t('status_open') : t('status_resolved') })));
      section.append(h('p', { class: 'explain', text: kindExplanation(e) }));
      const build = { field: fieldEntry, semantic: semanticEntry, delete_edit: deleteEditEntry, locked_change: heldEntry,
        permission: heldEntry, duplicate_candidate: duplicateEntry }[e.kind];
      if (build) {
        const choice = await build(e, section, ctx);
        if (choice && open(e)) choices.push({ entry: e, get: choice });
      } else {
        section.append(h('p', { class: 'muted', text: t('kind_not_resolvable') }));
      }
      if (e.status === 'resolved' && e.resolution) {
        section.append(h('p', { class: 'success', text: t('resolved_by', { user: e.resolved_by, when: fmtTime(e.resolved_at), value: describeResolution(e) }) }));
      }
      out.push(section);
    }

    if (choices.length) {
      const button = h('button', { type: 'button', 'data-testid': 'resolve', text: t('resolve') });
      button.addEventListener('click', () => resolveAll(choices, seen, status, button));
      out.push(h('div', { class: 'actions' }, button));
    }
    out.push(status);

    // The rest of the record, for context.
    const flagged = new Set(entries.filter(open).flatMap((e) => String(e.path).split(',').map((p) => p.replace(/[[.].*$/, ''))));
    const show = answerTextFn || ((d, k, v) => fmtValue(v));
    const rows = Object.keys(body).sort().map((k) => h('tr', { class: flagged.has(k) ? 'flagged' : null },
      h('td', { text: fieldLabel(def, k) }),
      photoCell(body[k], 'context-photo-' + k, fieldLabel(def, k), false) || h('td', { class: 'value', text: show(def, k, body[k]) })));
    out.push(h('h2', { text: t('record_context') }),
      h('table', { 'data-testid': 'record-context' }, h('thead', {}, h('tr', {}, h('th', { text: t('col_field') }),
        h('th', { text: t('col_current') }))), h('tbody', {}, rows)));
    return out;
  }

  // A value in the conflict view: a choice by its label in the chosen language, a number in its
  // conventions (as the record page shows answers); empty and removed values, and whole items, as fmtValue.
  function shown(def, path, v) {
    const plain = v !== null && v !== undefined && (typeof v !== 'object' || (Array.isArray(v) && v.every((x) => typeof x !== 'object')));
    return plain && answerTextFn ? answerTextFn(def, String(path).replace(/\[[^\]]*\]/g, '').split('.').pop(), v) : fmtValue(v);
  }

  // field: one value per path; a repeat item's field works the same; a whole item takes a candidate
  // (the item object) or is removed.
  function fieldEntry(e, section, { def }) {
    const field = findField(def, String(e.path).replace(/\[[^\]]*\]/g, '').split('.').pop());
    const whole = isWholeItem(e.path);
    const can = open(e);
    const name = 'choice-' + e.id;
    const tbody = h('tbody');
    tbody.append(h('tr', {}, h('td'), h('td', { text: t('ancestor') }), h('td', { class: 'value', 'data-testid': 'ancestor', text: shown(def, e.path, e.ancestor) }),
      h('td', { colspan: 4, class: 'muted', text: t('ancestor_note') })));
    (e.candidates || []).forEach((c, i) => {
      const current = e.provisional !== undefined && same(e.provisional, c.value) && !c.absent;
      const radio = can ? h('input', { type: 'radio', name, value: 'c' + i, id: name + '-c' + i, 'data-testid': 'choice-' + e.path + '-' + i }) : null;
      tbody.append(h('tr', { class: current ? 'current' : null, 'data-testid': 'candidate' },
        h('td', {}, radio),
        h('td', {}, h('label', { for: radio ? radio.id : null, text: t('candidate_n', { n: i + 1 }) + (current ? ' (' + t('current_value') + ')' : '') })),
        h('td', { class: 'value', 'data-testid': 'candidate-value', text: c.absent ? (whole ? t('item_removed') : t('value_absent')) : shown(def, e.path, c.value) }),
        h('td', { text: c.user || '—' }),
        h('td', { text: c.device || (c.dot ? c.dot.actor.slice(0, 8) + '…' : '—') }),
        h('td', { text: c.device_time ? fmtTime(c.device_time) : '—' }),
        h('td', { text: c.server_time ? fmtTime(c.server_time) : '—' })));
    });
    let otherInput = null;
    if (can && !whole) {
      const radio = h('input', { type: 'radio', name, value: 'other', id: name + '-other', 'data-testid': 'choice-' + e.path + '-other' });
      otherInput = h('input', { type: 'text', 'aria-label': t('other_value'), 'data-testid': 'other-' + e.path,
        on: { input: () => { radio.checked = true; } } });
      tbody.append(h('tr', {}, h('td', {}, radio), h('td', {}, h('label', { for: radio.id, text: t('other_value') })),
        h('td', { colspan: 5 }, otherInput, field && field.type ? h('span', { class: 'muted', text: ' ' + t('field_type', { type: field.type }) }) : '')));
    }
    if (can && whole && !(e.candidates || []).some((c) => c.absent)) {
      const radio = h('input', { type: 'radio', name, value: 'remove', id: name + '-remove', 'data-testid': 'choice-' + e.path + '-remove' });
      tbody.append(h('tr', {}, h('td', {}, radio), h('td', { colspan: 6 }, h('label', { for: radio.id, text: t('remove_item') }))));
    }
    section.append(h('table', {}, h('thead', {}, h('tr', {}, h('th'), h('th'), h('th', { text: t('col_value') }), h('th', { text: t('col_who') }),
      h('th', { text: t('col_device') }), h('th', { text: t('col_device_time') }), h('th', { text: t('col_server_time') }))), tbody));
    if (!can) return null;
    return () => {
      const picked = section.querySelector('input[name="' + name + '"]:checked');
      if (!picked) return undefined;
      if (picked.value === 'other') return { value: parseOther(otherInput.value, field) };
      if (picked.value === 'remove') return { remove: true };
      const c = e.candidates[Number(picked.value.slice(1))];
      return c.absent ? { remove: true } : { value: c.value };
    };
  }

  // semantic: the fields a rule reads, side by side; one side for the whole set, or a value per field.
  function semanticEntry(e, section, { def }) {
    const d = e.detail || {};
    const fields = String(e.path).split(',').filter(Boolean);
    const cands = e.candidates || [];
    const can = open(e);
    if ((d.rules || []).length) {
      section.append(h('p', {}, h('strong', { text: t('rules_broken') })),
        h('ul', { 'data-testid': 'rules' }, d.rules.map((r) => {
          // The form's own message for its rule, in the chosen language (the server's is English).
          const f = findField(def, String(r.path || '').replace(/\[[^\]]*\]/g, '').split('.').pop());
          const own = f ? [f.constraint_message, ...(f.checks || []).map((c) => c.message)].filter((m) => m && typeof m === 'object') : [];
          const mine = own.find((m) => m.en === r.message) || (r.code === 'constraint' && own.length === 1 ? own[0] : null);
          const message = mine ? pickLang(mine, r.message) : r.message || '';
          const code = r.code && t('prop_' + r.code) !== 'prop_' + r.code ? t('prop_' + r.code) : r.code;
          return h('li', {}, message, ' ', h('code', { class: 'muted', text: fieldLabel(def, r.path) + (code ? ' · ' + code : '') }));
        })));
    }
    const name = 'side-' + e.id;
    const sideHead = cands.map((c, i) => h('th', {}, can ? h('label', {}, h('input', { type: 'radio', name, value: String(i), 'data-testid': 'side-' + i }), ' ') : '',
      t('side_n', { n: i + 1 }), h('div', { class: 'muted', text: who(c) })));
    const inputs = {};
    const rows = fields.map((f) => {
      inputs[f] = can ? h('input', { type: 'text', 'aria-label': t('other_value') + ' ' + f, 'data-testid': 'edit-' + f }) : null;
      return h('tr', {}, h('td', {}, fieldLabel(def, f) + ' ', h('code', { class: 'muted', text: f })),
        h('td', { class: 'value', text: shown(def, f, (d.provisional || {})[f]) }),
        ...cands.map((c) => h('td', { class: 'value', 'data-testid': 'side-value', text: (c.absent || []).includes(f) ? t('value_absent') : shown(def, f, (c.values || {})[f]) })),
        can ? h('td', {}, inputs[f]) : null);
    });
    section.append(h('table', { 'data-testid': 'semantic-table' }, h('thead', {}, h('tr', {}, h('th', { text: t('col_field') }), h('th', { text: t('provisional') }),
      ...sideHead, can ? h('th', { text: t('other_value') }) : null)), h('tbody', {}, rows)));
    if (!can) return null;
    section.append(h('p', { class: 'muted', text: t('semantic_how') }));
    return () => {
      const picked = section.querySelector('input[name="' + name + '"]:checked');
      const side = picked ? cands[Number(picked.value)] : null;
      const typed = fields.filter((f) => inputs[f].value.trim() !== '');
      if (!side && !typed.length) return undefined;
      const values = {};
      const remove = [];
      for (const f of fields) {
        if (inputs[f].value.trim() !== '') values[f] = parseOther(inputs[f].value, findField(def, f));
        else if (side && !(side.absent || []).includes(f) && side.values && f in side.values) values[f] = side.values[f];
        else if (side) remove.push(f);
        else if (d.provisional && f in d.provisional) values[f] = d.provisional[f];
        else remove.push(f);
      }
      return { values, remove };
    };
  }

  function actionButton(label, testid, secondary, onClick) {
    const b = h('button', { type: 'button', class: secondary ? 'secondary' : null, 'data-testid': testid, text: label });
    b.addEventListener('click', () => onClick(b));
    return b;
  }

  // delete_edit: confirm the deletion, or keep the record.
  function deleteEditEntry(e, section, { seen, status }) {
    const rows = (e.candidates || []).map((c, i) => h('tr', { 'data-testid': 'candidate' },
      h('td', { text: t('candidate_n', { n: i + 1 }) }),
      h('td', {}, h('span', { class: 'badge' + (c.deleted ? ' bad' : ' ok'), text: c.deleted ? t('deleted_here') : t('edited_here') })),
      h('td', { text: who(c) }), h('td', { text: c.server_time ? fmtTime(c.server_time) : '—' })));
    section.append(h('table', {}, h('thead', {}, h('tr', {}, h('th'), h('th', { text: t('col_what') }), h('th', { text: t('col_who') }),
      h('th', { text: t('col_server_time') }))), h('tbody', {}, rows)));
    if (!open(e)) return null;
    section.append(h('div', { class: 'actions' },
      actionButton(t('restore'), 'restore', false, (b) => resolveOne(e, { seen, action: 'restore' }, status, b)),
      actionButton(t('confirm_delete'), 'confirm-delete', true, (b) => {
        if (window.confirm(t('confirm_delete_sure'))) resolveOne(e, { seen, action: 'confirm_delete' }, status, b);
      })),
    h('p', { class: 'muted', text: t('delete_edit_how') }));
    return null;
  }

  // locked_change, permission: what the device tried (held) against what stays.
  function heldEntry(e, section, { def, seen, status }) {
    const d = e.detail || {};
    const cands = e.candidates || [];
    const fields = d.fields || [...new Set(cands.flatMap((c) => Object.keys(c.values || {}).concat(c.absent || [])))];
    if (d.reason) section.append(h('p', {}, h('strong', { text: t('held_reason') + ': ' }), h('span', { 'data-testid': 'held-reason', text: d.reason })));
    const rows = fields.map((f) => h('tr', {}, h('td', {}, fieldLabel(def, f) + ' ', h('code', { class: 'muted', text: f })),
      h('td', { class: 'value', 'data-testid': 'kept-value', text: d.kept && f in d.kept ? shown(def, f, d.kept[f]) : t('value_absent') }),
      ...cands.map((c) => h('td', { class: 'value', 'data-testid': 'held-value',
        text: c.deleted ? t('deleted_here') : (c.absent || []).includes(f) ? t('value_absent') : shown(def, f, (c.values || {})[f]) }))));
    section.append(h('table', { 'data-testid': 'held-table' }, h('thead', {}, h('tr', {}, h('th', { text: t('col_field') }), h('th', { text: t('what_stays') }),
      ...cands.map((c, i) => h('th', {}, t('held_n', { n: i + 1 }), h('div', { class: 'muted', text: who(c) + (c.server_time ? ' · ' + fmtTime(c.server_time) : '') }))))),
    h('tbody', {}, rows)));
    if (!open(e)) return null;
    const buttons = cands.map((c, i) => {
      const latest = i === cands.length - 1;
      if (!latest && c.deleted) return null;
      const body = { seen, action: 'accept' };
      if (!latest) { body.values = c.values || {}; body.remove = c.absent || []; }
      return actionButton(cands.length > 1 ? t('accept_n', { n: i + 1 }) : (c.deleted ? t('accept_delete') : t('accept')),
        'accept-' + i, false, (b) => resolveOne(e, body, status, b));
    });
    section.append(h('div', { class: 'actions' }, ...buttons,
      actionButton(t('reject'), 'reject', true, (b) => resolveOne(e, { seen, action: 'reject' }, status, b))),
    h('p', { class: 'muted', text: e.kind === 'locked_change' ? t('locked_how') : t('permission_how') }));
    return null;
  }

  // duplicate_candidate: the records side by side; keep both, or exclude one.
  async function duplicateEntry(e, section, { def, status }) {
    const d = e.detail || {};
    const records = await Promise.all((e.candidates || []).map(async (c) => {
      const r = await api('GET', '/v1/records/' + encodeURIComponent(c.record));
      const l = r.ok && r.data.live && r.data.live[0] ? r.data.live[0] : null;
      return { id: c.record, server_time: c.server_time, live: l, body: l && l.body && typeof l.body === 'object' ? l.body : {}, problem: r.ok ? null : problemText(r) };
    }));
    if (Array.isArray(d.key)) section.append(h('p', {}, t('duplicate_key') + ': ', h('code', { 'data-testid': 'duplicate-key', text: d.key.map(fmtValue).join(' · ') })));
    const keyFields = new Set(def && Array.isArray(def.unique_key) ? def.unique_key : []);
    const keys = [...new Set(records.flatMap((x) => Object.keys(x.body)))].sort((a, b) => (keyFields.has(b) - keyFields.has(a)) || (a < b ? -1 : a > b ? 1 : 0));
    const rows = keys.map((k) => {
      const differ = records.some((x) => !same(x.body[k], records[0].body[k]));
      return h('tr', { class: differ ? 'flagged' : null }, h('td', {}, fieldLabel(def, k) + ' ', h('code', { class: 'muted', text: k })),
        ...records.map((x) => h('td', { class: 'value', text: shown(def, k, x.body[k]) })));
    });
    section.append(h('table', { 'data-testid': 'duplicate-table' }, h('thead', {}, h('tr', {}, h('th', { text: t('col_field') }),
      ...records.map((x, i) => h('th', {}, t('record_n', { n: i + 1 }) + ' ', h('a', { href: '#/record/' + x.id, text: t('open_record') }),
        h('div', { class: 'muted', text: x.problem || (x.server_time ? fmtTime(x.server_time) : '') }))))), h('tbody', {}, rows)));
    if (!open(e)) return null;
    const excludes = records.map((x, i) => actionButton(t('exclude_n', { n: i + 1 }), 'exclude-' + x.id, true, (b) => {
      // The exclusion is a version of the excluded record: it names that record's live version as seen.
      if (!x.live) { status.replaceChildren(h('p', { class: 'error', text: x.problem || t('record_gone') })); return; }
      resolveOne(e, { seen: x.live.clock, action: 'exclude', record: x.id }, status, b);
    }));
    section.append(h('div', { class: 'actions' },
      actionButton(t('keep_both'), 'keep-both', false, (b) => resolveOne(e, { seen: recordSeen(records, e), action: 'keep_both' }, status, b)),
      ...excludes), h('p', { class: 'muted', text: t('duplicate_how') }));
    return null;
  }
  // keep_both writes nothing; it names the entry's own record's live version.
  function recordSeen(records, e) {
    const x = records.find((r) => r.id === e.record) || records[0];
    return x.live ? x.live.clock : {};
  }

  function answerOrExplain(r, entry, status, button) {
    if (r.status === 409 && r.data && (r.data.code === 'stale_resolution' || r.data.code === 'already_resolved')) {
      flashMessage = ['warning', t(r.data.code === 'stale_resolution' ? 'stale_explained' : 'already_resolved_explained')];
      render();
      return false;
    }
    if (!r.ok) {
      status.replaceChildren(h('div', { class: 'error', 'data-testid': 'resolve-error' },
        t('resolve_failed', { field: entry.path || t('kind_' + entry.kind) }) + ' ' + problemText(r), fieldsList(r)));
      if (button) button.disabled = false;
      return false;
    }
    return true;
  }

  async function resolveOne(entry, body, status, button) {
    button.disabled = true;
    status.replaceChildren();
    let r;
    try {
      r = await api('POST', '/v1/admin/conflicts/' + entry.id + '/resolve', body);
    } catch (e) {
      if (e instanceof SessionEnded) return;
      status.replaceChildren(h('p', { class: 'error', text: t('network_error') }));
      button.disabled = false;
      return;
    }
    if (!answerOrExplain(r, entry, status, button)) return;
    const notes = [t('done_' + body.action)];
    if (r.data.outcome === 'merged') notes.push(t('merged_meanwhile', { field: entry.path || t('kind_' + entry.kind) }));
    if (!r.data.closed) notes.push(t('still_open'));
    flashMessage = [r.data.closed ? 'success' : 'warning', notes.join(' ')];
    render();
  }

  async function resolveAll(choices, seenAtLoad, status, button) {
    let picked;
    try {
      picked = choices.map((c) => ({ entry: c.entry, choice: c.get() })).filter((c) => c.choice !== undefined);
    } catch (e) {
      status.replaceChildren(h('p', { class: 'error', text: e.message }));
      return;
    }
    if (!picked.length) {
      status.replaceChildren(h('p', { class: 'error', text: t('pick_something') }));
      return;
    }
    button.disabled = true;
    // Each resolution names the version the admin saw; after the first, that is the version plus the
    // admin's own resolutions (never a device edit the admin has not seen).
    let seen = Object.assign({}, seenAtLoad);
    const notes = [];
    let done = 0;
    for (const { entry, choice } of picked) {
      let r;
      try {
        r = await api('POST', '/v1/admin/conflicts/' + entry.id + '/resolve', { seen, ...choice });
      } catch (e) {
        if (e instanceof SessionEnded) return;
        status.replaceChildren(h('p', { class: 'error', text: t('network_error') }));
        button.disabled = false;
        return;
      }
      if (r.status === 409 && r.data && (r.data.code === 'stale_resolution' || r.data.code === 'already_resolved')) {
        // Say what happened to the fields decided before this one, then show the record as it is now.
        flashMessage = ['warning', [t(r.data.code === 'stale_resolution' ? 'stale_explained' : 'already_resolved_explained'),
          done ? t('resolved_ok', { n: done }) : '', ...notes].filter(Boolean).join(' ')];
        return render();
      }
      if (!r.ok) {
        status.replaceChildren(h('div', { class: 'error', 'data-testid': 'resolve-error' },
          (done ? t('resolved_ok', { n: done }) + ' ' : '') + t('resolve_failed', { field: entry.path }) + ' ' + problemText(r), fieldsList(r)));
        button.disabled = false;
        return;
      }
      if (r.data.version) seen[r.data.version.actor] = r.data.version.n;
      done += 1;
      if (r.data.outcome === 'merged') notes.push(t('merged_meanwhile', { field: entry.path }));
      if (!r.data.closed) notes.push(t('reopened_meanwhile', { field: entry.path }));
    }
    flashMessage = ['success', [t('resolved_ok', { n: picked.length }), ...notes].join(' ')];
    render();
  }

  // ---- Field team status -------------------------------------------------------------------------
  async function renderTeam() {
    const s = session();
    const out = [h('h1', { text: t('nav_team') })];
    const silentDays = Math.max(1, Number(localStorage.getItem('akt.silentDays')) || 3);
    if (s.user.role === 'admin') {
      const r = await api('GET', '/v1/admin/devices');
      if (!r.ok) out.push(h('p', { class: 'error', text: problemText(r) }));
      else {
        const days = h('input', { type: 'number', min: 1, max: 365, value: silentDays, 'data-testid': 'silent-days',
          on: { change: (ev) => { localStorage.setItem('akt.silentDays', ev.target.value); render(); } } });
        out.push(h('h2', { text: t('devices') }), h('p', {}, h('label', {}, t('silent_after') + ' ', days, ' ' + t('days'))));
        const rows = r.data.devices.filter((d) => d.kind !== 'resolver').map((d) => {
          const last = Math.max(d.last_push, d.last_pull);
          const silent = !d.revoked && (last === 0 || Date.now() - last > silentDays * 86400000);
          const flag = d.revoked ? h('span', { class: 'badge', text: t('revoked') })
            : silent ? h('span', { class: 'badge bad', 'data-testid': 'silent', text: last ? t('silent_for', { age: fmtAge(last) }) : t('never_synced') })
              : h('span', { class: 'badge ok', text: t('ok') });
          return h('tr', { 'data-testid': 'device-row' },
            h('td', { text: d.name || t('a_tablet') }), h('td', { text: d.username || '—' }),
            h('td', { title: fmtTime(last), text: fmtAge(last) }),
            h('td', { class: 'num', 'data-testid': 'unsynced', text: d.unsynced === null || d.unsynced === undefined ? '—' : d.unsynced }),
            h('td', { text: d.client_app || d.app_version || '—' }), h('td', {}, flag));
        });
        out.push(h('table', { 'data-testid': 'devices-table' }, h('thead', {}, h('tr', {}, ...['device', 'user', 'last_sync', 'unsynced', 'app', 'flag']
          .map((k) => h('th', { text: t('col_' + k) })))), h('tbody', {}, rows)));
      }
    } else {
      out.push(h('p', { class: 'muted', text: t('devices_admin_only') }));
    }
    const st = await api('GET', '/v1/admin/stats');
    out.push(h('h2', { text: t('records_by_place') }));
    if (!st.ok) out.push(h('p', { class: 'error', text: problemText(st) }));
    else {
      const forms = [...new Set(st.data.counts.map((c) => c.form))].sort();
      const statsDefs = await latestDefs(await listForms());
      const statsTitles = new Map([...statsDefs.entries()].map(([id, d]) => [id, formTitle(d, id)]));
      const muns = [...new Set(st.data.counts.map((c) => c.municipality))].sort();
      const cell = new Map(st.data.counts.map((c) => [c.municipality + '\u0000' + c.form, c.records]));
      out.push(h('table', { 'data-testid': 'stats-table' },
        h('thead', {}, h('tr', {}, h('th', { text: t('municipality') }), ...forms.map((f) => h('th', { class: 'num', text: statsTitles.get(f) || f })), h('th', { class: 'num', text: t('total') }))),
        h('tbody', {}, muns.map((m) => h('tr', {}, h('td', { text: placeName('municipality', m) }),
          ...forms.map((f) => h('td', { class: 'num', text: cell.get(m + '\u0000' + f) || 0 })),
          h('td', { class: 'num', text: forms.reduce((a, f) => a + (cell.get(m + '\u0000' + f) || 0), 0) }))))),
      h('p', { class: 'muted', text: t('stats_total', { n: st.data.total }) }));
    }
    return out;
  }

  // ---- Datasets ----------------------------------------------------------------------------------
  async function renderDatasets() {
    const forms = await listForms();
    const formIds = [...new Set(forms.map((f) => f.form_id))];
    const defs = await latestDefs(forms);
    const fForm = select('x-form', formIds.map((id) => [id, formTitle(defs.get(id), id)]), formIds[0] || '', 'export-form');
    const fFormat = select('x-format', [['csv', 'CSV'], ['xlsx', 'Excel (XLSX)'], ['jsonl', 'JSON Lines']], 'csv', 'export-format');
    const fLabels = select('x-labels', [['codes', t('labels_codes')], ['en', t('labels_en')], ['sq', t('labels_sq')], ['sr', t('labels_sr')], ['sr-Latn', t('labels_sr_latn')]], lang === 'en' ? 'codes' : lang, 'export-labels');
    // Places by name (the server refuses an unknown code; here none can be typed). An M&E officer sees
    // communities as pseudonyms, so filters on the municipality only.
    const P = window.AKT_PLACES || { municipalities: {}, communities: {} };
    const me = session().user.role === 'me_officer';
    const fMun = select('x-mun', [['', t('all')], ...Object.keys(P.municipalities).map((m) => [m, placeName('municipality', m)])
      .sort((x, y) => x[1].localeCompare(y[1], lang))], '', 'export-municipality');
    const fCom = me ? null : select('x-com', [['', t('all')], ...Object.keys(P.communities).map((c) => [c, placeName('community', c)])], '', 'export-community');
    const fFrom = dateInput('export-from', '');
    const fTo = dateInput('export-to', '');
    const fConf = select('x-conf', [['include', t('conflicts_include')], ['exclude', t('conflicts_exclude')]], 'include', 'export-conflicts');
    const fBom = h('input', { type: 'checkbox', 'data-testid': 'export-bom' });
    const msg = h('div', { 'data-testid': 'export-status' });
    const form = h('form', { class: 'filters', 'data-testid': 'export-form-box' },
      h('label', {}, t('form'), fForm), h('label', {}, t('format'), fFormat), h('label', {}, t('labels'), fLabels),
      h('label', {}, t('municipality'), fMun), fCom ? h('label', {}, t('community'), fCom) : null, h('label', {}, t('from'), fFrom),
      h('label', {}, t('to'), fTo), h('label', {}, t('conflicted_records'), fConf), h('label', {}, t('excel_bom'), fBom),
      h('button', { type: 'submit', 'data-testid': 'export-download', text: t('download') }));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const q = new URLSearchParams({ format: fFormat.value, labels: fLabels.value, conflicts: fConf.value });
      if (fMun.value) q.set('municipality', fMun.value);
      if (fCom && fCom.value) q.set('community', fCom.value);
      if (!dateValid([fFrom, fTo])) return;
      if (fFrom.iso()) q.set('from', fFrom.iso());
      if (fTo.iso()) q.set('to', fTo.iso());
      if (fBom.checked) q.set('bom', '1');
      msg.replaceChildren(h('p', { class: 'muted', text: t('preparing') }));
      try {
        const r = await api('GET', '/v1/exports/' + encodeURIComponent(fForm.value) + '?' + q.toString(), undefined, true);
        if (!r.ok) {
          const data = await r.json().catch(() => null);
          msg.replaceChildren(h('p', { class: 'error', text: problemText({ status: r.status, data }) }));
          return;
        }
        const blob = await r.blob();
        const cd = r.headers.get('Content-Disposition') || '';
        const m = /filename="?([^";]+)"?/.exec(cd);
        const ext = (r.headers.get('Content-Type') || '').includes('zip') ? 'zip' : fFormat.value;
        const name = m ? m[1] : fForm.value + '.' + ext;
        const url = URL.createObjectURL(blob);
        const a = h('a', { href: url, download: name });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60000);
        msg.replaceChildren(h('p', { class: 'success', text: t('downloaded', { name, size: blob.size }) }));
      } catch (e) {
        if (!(e instanceof SessionEnded)) msg.replaceChildren(h('p', { class: 'error', text: t('network_error') }));
      }
    });

    const out = [h('h1', { text: t('nav_datasets') }), h('h2', { text: t('export_title') }), form, msg, h('h2', { text: t('indicators') })];
    const [ind, common] = await Promise.all([api('GET', '/v1/indicators?format=json'), sharedDefinitions()]);
    if (!ind.ok) out.push(h('p', { class: 'error', text: problemText(ind) }));
    else out.push(...renderIndicators(ind.data, common));
    return out;
  }

  // A horizontal bar chart drawn at its own size in CSS pixels (never scaled down, so no text is smaller
  // than the stylesheet's 13 px; a narrow screen scrolls the chart's box instead), with a value axis:
  // its ticks and its label (per cent of the group, or the measure's value).
  function barChart(cells, title) {
    const rowH = 24, left = 130, barW = 170, right = 56, top = 26, axisH = 44;
    const w = left + barW + right;
    const percent = cells.every((c) => c.measure === 'percent');
    // Percentages on a 0-100 scale (bars comparable across charts); other measures on their maximum.
    const max = percent ? 100
      : Math.max(1, ...cells.map((c) => (c.suppressed || c.value === null || c.value === undefined ? 0 : Math.abs(Number(c.value)))));
    const bottom = top + rowH * cells.length;
    const height = bottom + axisH;
    const svg = h('svg:svg', { class: 'chart', viewBox: `0 0 ${w} ${height}`, width: w, height, role: 'img', 'aria-label': title, 'data-testid': 'chart' });
    svg.append(h('svg:text', { x: 4, y: 16, class: 'title', text: title }));
    for (const f of [0, 0.5, 1]) {
      const x = left + Math.round(f * barW);
      svg.append(h('svg:line', { class: 'grid', x1: x, x2: x, y1: top, y2: bottom + 4 }));
      svg.append(h('svg:text', { x, y: bottom + 18, 'text-anchor': f === 0 ? 'start' : f === 1 ? 'end' : 'middle', 'data-testid': 'axis-tick',
        text: fmtNumber(Math.round(f * max * 10) / 10, true) + (percent ? ' %' : '') }));
    }
    svg.append(h('svg:text', { x: left + barW / 2, y: bottom + 36, 'text-anchor': 'middle', class: 'axis', 'data-testid': 'axis-label',
      text: t(percent ? 'axis_percent' : 'axis_value') }));
    cells.forEach((c, i) => {
      const y = top + i * rowH;
      const v = c.suppressed || c.value === null || c.value === undefined ? null : Number(c.value);
      const bw = v === null ? 0 : Math.round((Math.abs(v) / max) * barW);
      const name = String(c.group);
      svg.append(h('svg:text', { x: 4, y: y + 16, text: name.length > 17 ? name.slice(0, 16) + '…' : name }, h('svg:title', { text: name })));
      svg.append(h('svg:rect', { class: 'bar' + (v === null ? ' suppressed' : ''), x: left, y: y + 4, width: v === null ? 4 : Math.max(1, bw), height: rowH - 8 }));
      svg.append(h('svg:text', { x: left + Math.max(bw, 4) + 4, y: y + 16, text: v === null ? t('suppressed') : fmtNumber(v, true) + (c.measure === 'percent' ? ' %' : '') }));
    });
    return h('div', { class: 'chart-box' }, svg);
  }

  // Grouped by the logframe's objectives (G.1 first), with each indicator's title and definition; every
  // indicator downloadable on its own as CSV (made in the browser from the cells shown).
  function renderIndicators(data, common) {
    const cells = data.cells || [];
    const LF = window.AKT_LOGFRAME || { objectives: [], indicators: {} };
    const out = [h('p', { class: 'muted', text: t('indicators_note', { min: data.min_cell }) })];
    const dims = ['community', 'gender', 'municipality'];
    const base = (id) => { const m = /^(G\.\d|\d\.\d)/.exec(id); return m ? m[1] : id; };
    const byIndicator = new Map();
    for (const c of cells) {
      const k = base(c.indicator);
      if (!byIndicator.has(k)) byIndicator.set(k, []);
      byIndicator.get(k).push(c);
    }
    if (!cells.length) out.push(h('p', { class: 'muted', 'data-testid': 'indicators-empty', text: t('indicators_empty') }));
    const genders = ((common && common.choice_lists) || {})['L:gender'] || [];
    const groupName = (c) => (c.dimension === 'municipality' ? placeName('municipality', c.group)
      : c.dimension === 'community' ? placeName('community', c.group)
        : c.dimension === 'gender' && genders.some((g) => g.code === c.group) ? pickLang(genders.find((g) => g.code === c.group).label, c.group)
          : String(c.group));
    const csvOf = (list) => {
      const q = (v) => (v === null || v === undefined ? '' : /[",\n]/.test(String(v)) ? '"' + String(v).replace(/"/g, '""') + '"' : String(v));
      const head = 'indicator,dimension,group,measure,value,numerator,denominator,suppressed,low_precision';
      return [head, ...list.map((c) => [c.indicator, c.dimension, c.group, c.measure, c.suppressed ? '' : c.value,
        c.suppressed ? '' : c.numerator, c.suppressed ? '' : c.denominator, c.suppressed ? 1 : 0, c.low_precision ? 1 : 0].map(q).join(','))].join('\r\n') + '\r\n';
    };
    for (const obj of LF.objectives) {
      out.push(h('h2', { class: 'objective', 'data-testid': 'objective-' + obj.id, text: obj[lang] || obj.en }));
      for (const id of obj.indicators) {
        const list = byIndicator.get(id) || [];
        const info = LF.indicators[id] || {};
        const [title, definition] = info[lang] || info.en || [id, ''];
        const section = h('section', { class: 'card', 'data-testid': 'indicator-' + id },
          h('h3', {}, id + ' · ' + title), h('p', { class: 'muted definition', text: definition }));
        const dl = h('button', { type: 'button', class: 'secondary', 'data-testid': 'csv-' + id, text: t('download_csv'), disabled: !list.length });
        dl.addEventListener('click', () => {
          const url = URL.createObjectURL(new Blob(['\ufeff' + csvOf(list)], { type: 'text/csv;charset=utf-8' }));
          const a = h('a', { href: url, download: 'indicator_' + id.replace('.', '_') + '.csv' });
          document.body.append(a);
          a.click();
          a.remove();
          setTimeout(() => URL.revokeObjectURL(url), 60000);
        });
        section.append(h('div', { class: 'actions' }, dl));
        if (!list.length) {
          section.append(h('p', { class: 'muted', text: t('no_values_yet') }));
          out.push(section);
          continue;
        }
        const all = list.filter((c) => c.dimension === 'all');
        if (all.length) {
          section.append(h('ul', { class: 'plain' }, all.map((c) => h('li', {}, (c.indicator === id ? t('overall') : c.indicator) + ': ',
            h('strong', { text: c.suppressed ? t('suppressed') : fmtNumber(c.value, true) + (c.measure === 'percent' ? ' %' : '') + (c.low_precision ? ' *' : '') })))));
        }
        const charts = h('div', { class: 'grid2' });
        for (const d of dims) {
          const part = list.filter((c) => c.dimension === d && c.indicator === id).map((c) => ({ ...c, group: groupName(c) }));
          if (part.length) charts.append(barChart(part, t('by_' + d)));
        }
        section.append(charts);
        const rows = list.filter((c) => c.indicator === id && (c.dimension === 'all' || dims.includes(c.dimension))).map((c) => h('tr', {},
          h('td', { text: t('by_' + c.dimension) !== 'by_' + c.dimension ? t('by_' + c.dimension) : c.dimension }), h('td', { text: groupName(c) }),
          h('td', { class: 'num', text: c.suppressed ? t('suppressed') : fmtNumber(c.value, true) + (c.low_precision ? ' *' : '') }),
          h('td', { class: 'num', text: c.numerator === undefined || c.numerator === null ? '' : c.numerator }),
          h('td', { class: 'num', text: c.denominator === undefined || c.denominator === null ? '' : c.denominator })));
        section.append(h('div', { class: 'scroll' }, h('table', {}, h('thead', {}, h('tr', {}, ...['dimension', 'group', 'value', 'numerator', 'denominator']
          .map((k) => h('th', { text: t('col_' + k) })))), h('tbody', {}, rows))));
        out.push(section);
      }
    }
    return out;
  }

  // ---- Quarantine (admin.js replaces it with the page that releases and discards) ----------------
  async function renderQuarantine() {
    const r = await api('GET', '/v1/admin/quarantine?limit=200');
    if (!r.ok) return h('p', { class: 'error', text: problemText(r) });
    const rows = r.data.entries.map((q) => h('tr', { 'data-testid': 'quarantine-row' },
      h('td', { class: 'num', text: q.id }), h('td', { title: fmtTime(q.received_at), text: fmtAge(q.received_at) }),
      h('td', {}, h('code', { text: q.edit && q.edit.form ? q.edit.form + ' v' + q.edit.form_version : '' })),
      h('td', {}, h('code', { text: String(q.record).slice(0, 13) + '…' })),
      h('td', {}, h('code', { text: String(q.device).slice(0, 8) + '…' })),
      h('td', {}, h('strong', { text: q.code }), h('div', { text: q.detail }),
        (q.fields || []).length ? h('ul', {}, q.fields.map((f) => h('li', { text: (f.path || f.field || '') + ': ' + (f.message || f.code || JSON.stringify(f)) }))) : ''),
      h('td', { text: q.released_at ? t('released_at', { when: fmtTime(q.released_at) }) : t('waiting') })));
    return [h('h1', { text: t('nav_quarantine') }), h('p', { class: 'explain', text: t('quarantine_note') }),
      rows.length ? h('table', { 'data-testid': 'quarantine-table' }, h('thead', {}, h('tr', {}, ...['id', 'received', 'form', 'record', 'device', 'problem', 'status']
        .map((k) => h('th', { text: t('col_' + k) })))), h('tbody', {}, rows))
        : h('p', { class: 'muted', 'data-testid': 'quarantine-empty', text: t('quarantine_empty') })];
  }

  // ---- Start -------------------------------------------------------------------------------------
  function start() {
    if (window.AKT_ADMIN_PAGES) {
      const uiHelpers = { h, t, api, show, flash, fmtTime, fmtAge, fmtShort, fmtValue, fmtNumber, photoText, photoCell, problemText, select,
        dateInput, dateValid,
        listForms, latestDefs, formDef, pickLang, fieldLabel, findField, formTitle, placeName, placeText, authorText, session,
        SessionEnded, render: () => render(), setFlash: (kind, text) => { flashMessage = [kind, text]; }, lang: () => lang };
      const extra = window.AKT_ADMIN_PAGES(uiHelpers);
      answerTextFn = uiHelpers.answerText || null;  // labelled answers, shared with the record page
      for (const [name, page] of Object.entries(extra)) PAGES[name] = page;
      // The forms pages (forms.js): the list, uploads, a version's preview and changes.
      if (window.AKT_FORMS_PAGES) for (const [name, page] of Object.entries(window.AKT_FORMS_PAGES(uiHelpers))) PAGES[name] = page;
      // The navigation's order.
      const order = ['inbox', 'conflict', 'submissions', 'record', 'team', 'tablets', 'users', 'datasets', 'forms', 'form', 'quarantine', 'audit'];
      const all = Object.entries(PAGES);
      for (const [name] of all) delete PAGES[name];
      for (const [name, page] of all.sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0]))) PAGES[name] = page;
    }
    $('lang').addEventListener('change', (ev) => {
      lang = LANGS.includes(ev.target.value) ? ev.target.value : 'en';
      localStorage.setItem('akt.lang', lang);
      render();
    });
    $('signout').addEventListener('click', async () => {
      const s = session();
      if (s) await fetch('/v1/logout', { method: 'POST', headers: { Authorization: 'Bearer ' + s.token }, credentials: 'omit' }).catch(() => null);
      endSession(t('signed_out'));
    });
    window.addEventListener('hashchange', render);
    // A session past its expiry returns to sign-in without waiting for the next request.
    setInterval(() => {
      if (sessionStorage.getItem('akt.session') && !session()) endSession(t('session_ended'));
    }, 30000);
    render();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();
