// aktsync web console, the administration pages: users and teams, tablets (enrolment codes with a QR
// code, devices, revocation), the quarantine (release, discard, one by one and in bulk), the audit log,
// submissions (a filtered, paged table, bulk approval) and a record (answers with labels, review,
// history). app.js calls window.AKT_ADMIN_PAGES with its helpers at start. Every datum goes into the page
// with textContent; ids, clocks and codes stay off the screen (names of people, tablets, places, forms).
'use strict';
window.AKT_ADMIN_PAGES = function (ui) {
  const { h, t, api, fmtTime, fmtAge, fmtShort, problemText, select, dateInput, dateValid, listForms, latestDefs, formDef, pickLang,
    fieldLabel, findField, formTitle, placeName, authorText } = ui;
  const ROLES = ['enumerator', 'supervisor', 'me_officer', 'admin'];
  const COMPONENTS = ['SO1', 'SO2', 'SO3'];
  const P = window.AKT_PLACES || { municipalities: {}, communities: {} };
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  const errorBox = (res) => h('p', { class: 'error', 'data-testid': 'error', text: problemText(res) });
  const done = (text) => { ui.setFlash('success', text); ui.render(); };
  const any = (v) => (v === '*' || v === '' || v === undefined ? t('anything') : v);
  function assignmentText(a, titles) {
    return [a.municipality === '*' ? t('any_municipality') : placeName('municipality', a.municipality),
      a.community === '*' ? t('any_community') : placeName('community', a.community),
      any(a.component), a.form === '*' ? t('any_form') : (titles.get(a.form) || a.form)].join(' · ');
  }
  async function formTitles() {
    const forms = await listForms();
    const defs = await latestDefs(forms);
    return new Map([...defs.entries()].map(([id, d]) => [id, formTitle(d, id)]));
  }
  function table(testid, cols, rows) {
    return h('div', { class: 'scroll' }, h('table', { 'data-testid': testid },
      h('thead', {}, h('tr', {}, ...cols.map((c) => h('th', { text: c })))), h('tbody', {}, rows)));
  }

  // ---- Users and teams -------------------------------------------------------------------------
  async function renderUsers() {
    const [r, titles] = await Promise.all([api('GET', '/v1/admin/users'), formTitles()]);
    if (!r.ok) return errorBox(r);
    const users = r.data.users;
    const supervisors = users.filter((u) => u.role === 'supervisor').map((u) => u.username);
    const msg = h('div', { 'data-testid': 'users-status' });
    const act = async (method, path, body, okText) => {
      const res = await api(method, path, body);
      if (!res.ok) { msg.replaceChildren(errorBox(res)); return null; }
      if (okText) done(okText);
      return res;
    };
    const me = ui.session().user.username;

    // New user.
    const nName = h('input', { type: 'text', 'data-testid': 'new-username', autocomplete: 'off' });
    const nDisplay = h('input', { type: 'text', 'data-testid': 'new-display-name', autocomplete: 'off' });
    const nPass = h('input', { type: 'password', 'data-testid': 'new-password', autocomplete: 'new-password' });
    const nRole = select('n-role', ROLES.map((x) => [x, t('role_' + x)]), 'enumerator', 'new-role');
    const nSup = select('n-sup', [['', t('no_team')], ...supervisors.map((s) => [s, s])], '', 'new-supervisor');
    const create = h('form', { class: 'filters', 'data-testid': 'new-user' },
      h('label', {}, t('username'), nName), h('label', {}, t('display_name'), nDisplay), h('label', {}, t('password'), nPass),
      h('label', {}, t('role'), nRole), h('label', {}, t('team_of'), nSup),
      h('button', { type: 'submit', 'data-testid': 'create-user', text: t('create_user') }));
    create.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = { username: nName.value.trim(), display_name: nDisplay.value.trim(), password: nPass.value, role: nRole.value };
      if (nSup.value) body.supervisor = nSup.value;
      await act('POST', '/v1/admin/users', body, t('user_created', { user: body.username }));
    });

    const rows = users.map((u) => {
      const base = '/v1/admin/users/' + encodeURIComponent(u.username);
      const role = select('role-' + u.username, ROLES.map((x) => [x, t('role_' + x)]), u.role, 'role-' + u.username);
      role.addEventListener('change', () => act('PUT', base + '/role', { role: role.value }, t('role_set', { user: u.username, role: t('role_' + role.value) })));
      const team = select('team-' + u.username, [['', t('no_team')], ...supervisors.filter((s) => s !== u.username).map((s) => [s, s])],
        u.supervisor || '', 'team-' + u.username);
      team.addEventListener('change', () => act('PUT', base + '/supervisor', { supervisor: team.value || null },
        t('team_set', { user: u.username })));
      const toggle = h('button', { type: 'button', class: 'secondary', 'data-testid': (u.disabled ? 'enable-' : 'disable-') + u.username,
        text: u.disabled ? t('enable') : t('disable'), disabled: u.username === me });
      toggle.addEventListener('click', () => act('POST', base + (u.disabled ? '/enable' : '/disable'), {},
        t(u.disabled ? 'user_enabled' : 'user_disabled', { user: u.username })));
      const reset = h('button', { type: 'button', class: 'secondary', 'data-testid': 'reset-' + u.username, text: t('reset_password') });
      const resetOut = h('span', { 'data-testid': 'reset-result-' + u.username });
      reset.addEventListener('click', async () => {
        if (!window.confirm(t('reset_confirm', { user: u.username }))) return;
        const res = await act('POST', base + '/password', { one_time: true });
        if (res) resetOut.replaceChildren(h('span', { class: 'success' }, t('one_time_password') + ' ', h('strong', { class: 'mono', 'data-testid': 'one-time-password', text: res.data.password })));
      });
      const cells = [h('td', {}, h('strong', { text: u.display_name || u.username }), h('div', { class: 'muted', text: u.username })),
        h('td', {}, role), h('td', {}, team)];
      const assign = h('td', { 'data-testid': 'assignments-' + u.username });
      if (u.role === 'enumerator' || u.role === 'supervisor') {
        assign.append(h('ul', { class: 'plain' }, u.assignments.length ? u.assignments.map((a) => h('li', { text: assignmentText(a, titles) }))
          : h('li', { class: 'muted', text: t('no_assignments') })));
        const edit = h('button', { type: 'button', class: 'secondary', 'data-testid': 'edit-assignments-' + u.username, text: t('edit_assignments') });
        edit.addEventListener('click', () => assign.replaceChildren(assignmentEditor(u, titles, (list) =>
          act('PUT', base + '/assignments', { assignments: list }, t('assignments_set', { user: u.username })))));
        assign.append(edit);
      } else {
        assign.append(h('span', { class: 'muted', text: t('reads_everything') }));
      }
      cells.push(assign);
      const special = h('input', { type: 'checkbox', 'data-testid': 'special-' + u.username, checked: u.special_category,
        disabled: u.role !== 'me_officer' });
      special.addEventListener('change', () => act('PUT', base + '/special_category', { granted: special.checked },
        t(special.checked ? 'special_granted' : 'special_withdrawn', { user: u.username })));
      cells.push(h('td', {}, h('label', { class: 'inline' }, special, ' ' + t('special_category_short'))));
      cells.push(h('td', {}, h('span', { class: 'badge' + (u.disabled ? ' bad' : ' ok'), text: u.disabled ? t('disabled') : t('active') })));
      cells.push(h('td', {}, h('div', { class: 'actions tight' }, toggle, reset), resetOut));
      return h('tr', { 'data-testid': 'user-row', 'data-user': u.username }, ...cells);
    });
    return [h('h1', { text: t('nav_users') }), h('p', { class: 'explain', text: t('users_note') }), msg,
      h('h2', { text: t('new_user') }), create, h('h2', { text: t('all_users') }),
      table('users-table', [t('col_user'), t('role'), t('team_of'), t('col_assignments'), t('col_special'), t('status'), ''], rows)];
  }

  function assignmentEditor(u, titles, save) {
    const box = h('div', { class: 'card', 'data-testid': 'assignment-editor' });
    const list = h('div');
    const mun = [['*', t('any_municipality')], ...Object.keys(P.municipalities).sort().map((c) => [c, placeName('municipality', c)])];
    const com = [['*', t('any_community')], ...Object.keys(P.communities).map((c) => [c, placeName('community', c)])];
    const cmp = [['*', t('anything')], ...COMPONENTS.map((c) => [c, c])];
    const frm = [['*', t('any_form')], ...[...titles.entries()].map(([id, title]) => [id, title])];
    const addRow = (a) => {
      const n = list.children.length;
      const row = h('div', { class: 'filters', 'data-testid': 'assignment-row' },
        h('label', {}, t('municipality'), select('a-mun-' + n, mun, a.municipality || '*', 'a-municipality')),
        h('label', {}, t('community'), select('a-com-' + n, com, a.community || '*', 'a-community')),
        h('label', {}, t('component'), select('a-cmp-' + n, cmp, a.component || '*', 'a-component')),
        h('label', {}, t('form'), select('a-frm-' + n, frm, a.form || '*', 'a-form')));
      const remove = h('button', { type: 'button', class: 'secondary', text: t('remove') });
      remove.addEventListener('click', () => row.remove());
      row.append(remove);
      list.append(row);
    };
    (u.assignments.length ? u.assignments : [{}]).forEach(addRow);
    const add = h('button', { type: 'button', class: 'secondary', 'data-testid': 'add-assignment', text: t('add_assignment') });
    add.addEventListener('click', () => addRow({}));
    const ok = h('button', { type: 'button', 'data-testid': 'save-assignments', text: t('save') });
    ok.addEventListener('click', () => save([...list.children].map((row) => {
      const v = [...row.querySelectorAll('select')].map((s) => s.value);
      return { municipality: v[0], community: v[1], component: v[2], form: v[3] };
    })));
    box.append(h('p', { class: 'muted', text: t('assignments_note') }), list, h('div', { class: 'actions' }, add, ok));
    return box;
  }

  // ---- Tablets -----------------------------------------------------------------------------------
  async function renderTablets() {
    const [users, devices] = await Promise.all([api('GET', '/v1/admin/users'), api('GET', '/v1/admin/devices')]);
    if (!users.ok) return errorBox(users);
    if (!devices.ok) return errorBox(devices);
    const msg = h('div', { 'data-testid': 'tablets-status' });
    const names = new Map(users.data.users.map((u) => [u.username, u.display_name || u.username]));
    const who = select('enrol-user', users.data.users.filter((u) => !u.disabled).map((u) => [u.username, (u.display_name || u.username) + ' (' + t('role_' + u.role) + ')']),
      '', 'enrol-user');
    const devName = h('input', { type: 'text', 'data-testid': 'enrol-device-name', placeholder: t('device_name_hint') });
    const out = h('div', { 'data-testid': 'enrolment' });
    const form = h('form', { class: 'filters' }, h('label', {}, t('col_user'), who), h('label', {}, t('device_name'), devName),
      h('button', { type: 'submit', 'data-testid': 'issue-code', text: t('issue_code') }));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const name = devName.value.trim() || t('tablet_of', { user: who.value });
      const res = await api('POST', '/v1/admin/enrolments', { username: who.value, device_name: name });
      if (!res.ok) { out.replaceChildren(errorBox(res)); return; }
      // The QR code holds the server's address and the code, for the tablet app to read.
      const payload = JSON.stringify({ server: location.origin, code: res.data.code });
      const qr = h('div', { class: 'qr', 'data-testid': 'enrolment-qr', 'data-payload': payload });
      qr.append(window.AKT_QR_SVG(payload, 220));
      out.replaceChildren(h('div', { class: 'card enrol' }, qr, h('div', {},
        h('p', {}, t('code_for', { device: res.data.device_name, user: names.get(res.data.username) || res.data.username })),
        h('p', { class: 'code', 'data-testid': 'enrolment-code', text: res.data.code }),
        h('p', { 'data-testid': 'enrolment-expiry', text: t('code_expires', { when: fmtShort(res.data.expires_at) }) }),
        h('p', { class: 'muted', text: t('code_note') }))));
    });
    const rows = devices.data.devices.filter((d) => d.kind !== 'resolver').map((d) => {
      const last = Math.max(d.last_push, d.last_pull);
      const revoke = d.kind === 'enrolled' && !d.revoked
        ? h('button', { type: 'button', class: 'secondary danger', 'data-testid': 'revoke-' + (d.name || ''), text: t('revoke') }) : null;
      if (revoke) {
        revoke.addEventListener('click', async () => {
          if (!window.confirm(t('revoke_confirm', { device: d.name }))) return;
          const res = await api('POST', '/v1/admin/devices/' + encodeURIComponent(d.actor) + '/revoke', {});
          if (!res.ok) { msg.replaceChildren(errorBox(res)); return; }
          done(t('revoked_ok', { device: d.name }));
        });
      }
      return h('tr', { 'data-testid': 'tablet-row', 'data-device': d.name },
        h('td', { text: d.name || t('a_tablet') }), h('td', { text: d.username ? names.get(d.username) || d.username : '—' }),
        h('td', { title: fmtTime(last), text: last ? fmtShort(last) : t('never') }),
        h('td', { text: d.client_app || d.app_version || '—' }),
        h('td', { class: 'num', text: d.unsynced === null || d.unsynced === undefined ? '—' : d.unsynced }),
        h('td', {}, h('span', { class: 'badge' + (d.revoked ? ' bad' : ' ok'), text: d.revoked ? t('revoked') : t('active') })),
        h('td', {}, revoke));
    });
    return [h('h1', { text: t('nav_tablets') }), h('h2', { text: t('enrol_tablet') }), h('p', { class: 'explain', text: t('enrol_note') }),
      form, out, msg, h('h2', { text: t('devices') }),
      table('tablets-table', [t('col_device'), t('col_user'), t('col_last_sync'), t('col_app'), t('col_unsynced'), t('status'), ''], rows)];
  }

  // ---- Quarantine --------------------------------------------------------------------------------
  // The arguments each rejection's text needs (PROTOCOL §10.7).
  const REJECTION_ARGS = {
    unknown_form_version: ['form', 'form_version'], invalid_record: ['form', 'form_version', 'problems'],
    scope_mismatch: ['form', 'form_version'], out_of_scope: ['form', 'municipality'], form_mismatch: ['form', 'record_form'],
    dot_reuse: ['n'], unknown_context: ['claimed'], wrong_actor: [], invalid_context: [], stale_context: [],
  };
  // Why an edit was refused, in the reader's language, from its code and arguments; an entry stored
  // before the server kept arguments (or of a code this console does not know) shows the server's text.
  function rejectionText(q, titles) {
    const a = q.args || {};
    const needs = REJECTION_ARGS[q.code];
    if (!needs || needs.some((k) => a[k] === undefined || a[k] === null)) return String(q.detail || '').replace(/[0-9a-f]{8}-[0-9a-f-]{27}/gi, '…');
    const name = (id) => titles.get(id) || id;
    const key = 'rd_' + q.code + (q.code === 'out_of_scope' && a.record_exists ? '_record' : '');
    const text = t(key, { form: name(a.form), version: a.form_version, problems: a.problems, record_form: name(a.record_form),
      place: [placeName('municipality', a.municipality), a.community ? placeName('community', a.community) : '', a.component]
        .filter(Boolean).join(' · '), n: a.n, claimed: a.claimed });
    return a.filled_version === undefined ? text : text + ' (' + t('filled_with_version', { n: a.filled_version }) + ')';
  }
  async function renderQuarantine(parts, s) {
    const admin = s.user.role === 'admin';
    const [r, titles, devices] = await Promise.all([api('GET', '/v1/admin/quarantine?limit=1000'), formTitles(),
      admin ? api('GET', '/v1/admin/devices') : Promise.resolve({ ok: false })]);
    if (!r.ok) return errorBox(r);
    const deviceOf = new Map(devices.ok ? devices.data.devices.map((d) => [d.actor, d]) : []);
    const msg = h('div', { 'data-testid': 'quarantine-status' });
    const defs = new Map();
    for (const q of r.data.entries) {
      const e = q.edit || {};
      if (e.form && !defs.has(e.form + '/' + e.form_version)) defs.set(e.form + '/' + e.form_version, await formDef(e.form, e.form_version));
    }
    const waiting = (q) => !q.released_at && !q.discarded_at;
    const checks = [];
    const rows = r.data.entries.map((q) => {
      const e = q.edit || {};
      const def = defs.get(e.form + '/' + e.form_version);
      const d = deviceOf.get(q.device);
      const box = admin && waiting(q) ? h('input', { type: 'checkbox', 'data-testid': 'select-q', 'data-id': q.id }) : null;
      if (box) checks.push([box, q]);
      const status = q.released_at ? t('released_at', { when: fmtShort(q.released_at) })
        : q.discarded_at ? t('discarded_at', { when: fmtShort(q.discarded_at) }) : t('waiting');
      const buttons = [];
      if (admin && waiting(q)) {
        for (const action of ['release', 'discard']) {
          const b = h('button', { type: 'button', class: action === 'release' ? null : 'secondary danger', 'data-testid': action + '-q', text: t(action) });
          b.addEventListener('click', async () => {
            if (action === 'discard' && !window.confirm(t('discard_confirm', { n: 1 }))) return;
            const res = await api('POST', '/v1/admin/quarantine/' + q.id + '/' + action, {});
            if (!res.ok) { msg.replaceChildren(h('p', { class: 'error', 'data-testid': 'error', text: t('still_rejected_text') + ' ' + problemText(res) })); return; }
            done(t(action === 'release' ? 'released_one' : 'discarded_one'));
          });
          buttons.push(b);
        }
      }
      const problems = (q.fields || []).map((f) => h('li', { text: fieldLabel(def, f.path || f.field || '') + ': ' + (f.message || f.code || '') }));
      return h('tr', { 'data-testid': 'quarantine-row' },
        h('td', {}, box), h('td', { title: fmtTime(q.received_at), text: fmtShort(q.received_at) }),
        h('td', { text: e.form ? (titles.get(e.form) || e.form) + ' · ' + t('version_n', { n: e.form_version }) : '—' }),
        h('td', { text: e.scope ? ui.placeText(e.scope) : '—' }),
        h('td', { text: d ? (d.name || t('a_tablet')) + (d.username ? ' · ' + d.username : '') : t('a_tablet') }),
        h('td', {}, h('strong', { text: t('reject_' + q.code) !== 'reject_' + q.code ? t('reject_' + q.code) : q.code.replace(/_/g, ' ') }),
          problems.length ? h('ul', { 'data-testid': 'field-errors' }, problems) : h('div', { class: 'muted', 'data-testid': 'rejection-text', text: rejectionText(q, titles) })),
        h('td', { text: status }), h('td', {}, h('div', { class: 'actions tight' }, ...buttons)));
    });
    const bulk = [];
    if (admin && checks.length) {
      const all = h('input', { type: 'checkbox', 'data-testid': 'select-all-q' });
      all.addEventListener('change', () => checks.forEach(([b]) => { b.checked = all.checked; }));
      bulk.push(h('label', { class: 'inline' }, all, ' ' + t('select_all')));
      for (const action of ['release', 'discard']) {
        const b = h('button', { type: 'button', class: action === 'release' ? null : 'secondary danger', 'data-testid': 'bulk-' + action, text: t('bulk_' + action) });
        b.addEventListener('click', async () => {
          const chosen = checks.filter(([c]) => c.checked).map(([, q]) => q);
          if (!chosen.length) { msg.replaceChildren(h('p', { class: 'warning', text: t('select_first') })); return; }
          if (!window.confirm(t(action + '_confirm', { n: chosen.length }))) return;
          let ok = 0, failed = 0;
          for (const q of chosen) ((await api('POST', '/v1/admin/quarantine/' + q.id + '/' + action, {})).ok ? ok++ : failed++);
          ui.setFlash(failed ? 'warning' : 'success', t('bulk_done', { ok, failed }));
          ui.render();
        });
        bulk.push(b);
      }
    }
    return [h('h1', { text: t('nav_quarantine') }), h('p', { class: 'explain', text: t('quarantine_note') }), msg,
      bulk.length ? h('div', { class: 'actions' }, ...bulk) : null,
      rows.length ? table('quarantine-table', ['', t('col_received'), t('col_form'), t('place'), t('col_device'), t('col_problem'), t('status'), ''], rows)
        : h('p', { class: 'muted', 'data-testid': 'quarantine-empty', text: t('quarantine_empty') })];
  }

  // ---- Audit log ---------------------------------------------------------------------------------
  // Filtered by the server (PROTOCOL §9.9), paged by id: every entry that matches is reachable, not only
  // those among the newest.
  const auditFilter = { user: null, action: '', from: '', to: '', cursors: [0] };
  const AUDIT_ACTIONS = ['user_created', 'role_changed', 'scope_changed', 'user_disabled', 'user_enabled', 'team_changed',
    'password_changed', 'password_reset', 'special_category_granted', 'special_category_withdrawn', 'enrolment_issued',
    'device_enrolled', 'device_reenrolled', 'device_revoked', 'login', 'login_failed', 'logout', 'form_uploaded',
    'form_published', 'form_retired', 'quarantine_released', 'quarantine_discarded', 'conflict_resolved', 'record_reviewed',
    'records_reviewed', 'export', 'pseudonym_key_rotated'];
  const AUDIT_PAGE = 300;
  async function renderAudit() {
    const page = auditFilter.cursors.length - 1;
    const q = new URLSearchParams({ limit: String(AUDIT_PAGE) });
    if (auditFilter.cursors[page]) q.set('before', String(auditFilter.cursors[page]));
    if (auditFilter.user !== null) q.set('user', auditFilter.user);
    for (const k of ['action', 'from', 'to']) if (auditFilter[k]) q.set(k, auditFilter[k]);
    const [r, devices, users] = await Promise.all([api('GET', '/v1/admin/audit?' + q.toString()), api('GET', '/v1/admin/devices'),
      api('GET', '/v1/admin/users')]);
    if (!r.ok) return [h('h1', { text: t('nav_audit') }), errorBox(r)];
    const deviceName = new Map(devices.ok ? devices.data.devices.map((d) => [d.actor, d.name || t('a_tablet')]) : []);
    const entries = r.data.entries;
    // '~' stands for "anyone" in the select ("" is the anonymous actor of failed logins).
    const names = users.ok ? users.data.users.map((u) => u.username).sort() : [];
    const fUser = select('au-user', [['~', t('all')], ...names.map((u) => [u, u]), ['', t('anonymous')], ['(command line)', t('command_line')]],
      auditFilter.user === null ? '~' : auditFilter.user, 'audit-user');
    const fAction = select('au-action', [['', t('all')], ...AUDIT_ACTIONS.map((a) => [a, actionText(a)])], auditFilter.action, 'audit-action');
    const fFrom = dateInput('audit-from', auditFilter.from);
    const fTo = dateInput('audit-to', auditFilter.to);
    const form = h('form', { class: 'filters' }, h('label', {}, t('col_user'), fUser), h('label', {}, t('col_action'), fAction),
      h('label', {}, t('day_from'), fFrom), h('label', {}, t('day_to'), fTo), h('button', { type: 'submit', 'data-testid': 'audit-apply', text: t('apply') }));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (!dateValid([fFrom, fTo])) return;
      Object.assign(auditFilter, { user: fUser.value === '~' ? null : fUser.value, action: fAction.value, from: fFrom.iso(), to: fTo.iso(), cursors: [0] });
      ui.render();
    });
    const named = (v) => (typeof v === 'string' && UUID.test(v) ? (deviceName.get(v) || t('a_record')) : v);
    const detailText = (d) => Object.entries(d || {}).filter(([k]) => !/clock|seen|dot|actor|candidates/.test(k))
      .map(([k, v]) => k.replace(/_/g, ' ') + ': ' + (typeof v === 'object' && v !== null ? (Array.isArray(v) ? v.length + ' ' + t('items') : '…') : named(v))).join(' · ');
    const rows = entries.map((e) => h('tr', { 'data-testid': 'audit-row' },
      h('td', { text: fmtShort(e.at) }), h('td', { text: e.username === '(command line)' ? t('command_line') : e.username || t('anonymous') }), h('td', { text: actionText(e.action) }),
      h('td', {}, UUID.test(e.target) && !deviceName.has(e.target) ? h('a', { href: '#/record/' + e.target, text: t('open_record') }) : named(e.target)),
      h('td', { class: 'muted', text: detailText(e.detail) }), h('td', { class: 'muted', text: e.remote === 'local' ? t('command_line') : e.remote })));
    const prev = h('button', { type: 'button', class: 'secondary', 'data-testid': 'audit-prev', text: '← ' + t('previous'), disabled: page === 0 });
    const next = h('button', { type: 'button', class: 'secondary', 'data-testid': 'audit-next', text: t('next') + ' →', disabled: !r.data.next_before });
    prev.addEventListener('click', () => { auditFilter.cursors.pop(); ui.render(); });
    next.addEventListener('click', () => { auditFilter.cursors.push(r.data.next_before); ui.render(); });
    return [h('h1', { text: t('nav_audit') }), form,
      h('p', { class: 'muted', 'data-testid': 'audit-count', text: t('audit_count', { n: entries.length, page: page + 1 }) }),
      table('audit-table', [t('col_when'), t('col_user'), t('col_action'), t('col_target'), t('col_detail'), t('col_from')], rows),
      h('div', { class: 'actions' }, prev, h('span', { text: t('page_n', { n: page + 1 }) }), next)];
  }
  function actionText(a) {
    const k = 'audit_' + a;
    const s = t(k);
    return s === k ? a.replace(/_/g, ' ') : s;
  }

  // ---- Submissions -------------------------------------------------------------------------------
  // Filtered and paged by the server (GET /v1/admin/records, keyset pages): the page costs the same with
  // 50 records or 50,000. `cursors[i]` is the `before` of page i.
  const subFilter = { form: '', municipality: '', community: '', review: '', enumerator: '', from: '', to: '', conflicts: '', cursors: [''] };
  const REVIEW = ['submitted', 'returned', 'approved', 'excluded_duplicate', 'excluded_invalid'];
  const BULK_MAX = 1000;  // records per review action (PROTOCOL §11.8)
  function subQuery(extra) {
    const q = new URLSearchParams();
    for (const k of ['form', 'municipality', 'community', 'review', 'from', 'to', 'conflicts']) if (subFilter[k]) q.set(k, subFilter[k]);
    if (subFilter.enumerator) q.set('submitted_by', subFilter.enumerator);
    for (const [k, v] of Object.entries(extra || {})) q.set(k, v);
    return q;
  }
  function reviewBadge(status) {
    const cls = status === 'approved' ? ' ok' : status === 'returned' ? ' warn' : status && status.startsWith('excluded') ? ' bad' : '';
    return h('span', { class: 'badge' + cls, text: t('review_' + (status || 'submitted')) });
  }
  // Every record of the current filters still waiting for review, without conflicts (at most BULK_MAX).
  async function pendingOfFilter() {
    const out = [];
    let before = '';
    for (;;) {
      const q = subQuery({ review: 'submitted', conflicts: 'no', limit: '500' });
      if (before) q.set('before', before);
      const r = await api('GET', '/v1/admin/records?' + q.toString());
      if (!r.ok) return r;
      out.push(...r.data.records);
      if (!r.data.next_before || out.length >= BULK_MAX) break;
      before = r.data.next_before;
    }
    return { ok: true, records: out.slice(0, BULK_MAX), more: out.length > BULK_MAX };
  }
  async function renderSubmissions(parts, s) {
    const page = subFilter.cursors.length - 1;
    const q = subQuery({ limit: '50' });
    if (subFilter.cursors[page]) q.set('before', subFilter.cursors[page]);
    const [r, titles] = await Promise.all([api('GET', '/v1/admin/records?' + q.toString()), formTitles()]);
    if (!r.ok) return [h('h1', { text: t('nav_submissions') }), errorBox(r)];
    const me = s.user.role === 'me_officer';
    const fForm = select('s-form', [['', t('all')], ...[...titles.entries()].map(([id, title]) => [id, title])], subFilter.form, 'sub-form');
    const fMun = select('s-mun', [['', t('all')], ...Object.keys(P.municipalities).map((m) => [m, placeName('municipality', m)])
      .sort((x, y) => x[1].localeCompare(y[1], ui.lang()))], subFilter.municipality, 'sub-municipality');
    const fCom = select('s-com', [['', t('all')], ...Object.keys(P.communities).map((m) => [m, placeName('community', m)])], subFilter.community, 'sub-community');
    const fRev = select('s-rev', [['', t('all')], ...REVIEW.map((x) => [x, t('review_' + x)])], subFilter.review, 'sub-review');
    const fEnum = h('input', { type: 'text', value: subFilter.enumerator, 'data-testid': 'sub-enumerator', placeholder: t('username'), autocomplete: 'off' });
    const fFrom = dateInput('sub-from', subFilter.from);
    const fTo = dateInput('sub-to', subFilter.to);
    const fConf = select('s-conf', [['', t('all')], ['yes', t('with_conflicts')], ['no', t('without_conflicts')]], subFilter.conflicts, 'sub-conflicts');
    const form = h('form', { class: 'filters' }, h('label', {}, t('form'), fForm), h('label', {}, t('municipality'), fMun),
      me ? null : h('label', {}, t('community'), fCom), h('label', {}, t('col_review'), fRev), me ? null : h('label', {}, t('col_enumerator'), fEnum),
      h('label', {}, t('received_from'), fFrom), h('label', {}, t('received_to'), fTo), h('label', {}, t('col_conflicts'), fConf),
      h('button', { type: 'submit', 'data-testid': 'sub-apply', text: t('apply') }));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (!dateValid([fFrom, fTo])) return;
      Object.assign(subFilter, { form: fForm.value, municipality: fMun.value, community: me ? '' : fCom.value, review: fRev.value,
        enumerator: me ? '' : fEnum.value.trim(), from: fFrom.iso(), to: fTo.iso(), conflicts: fConf.value, cursors: [''] });
      ui.render();
    });
    const recs = r.data.records;
    const rows = recs.map((c) => h('tr', { 'data-testid': 'sub-row' },
      h('td', { text: titles.get(c.form) || c.form }), h('td', { text: placeName('municipality', c.scope.municipality) }),
      h('td', { text: placeName('community', c.scope.community) }), h('td', {}, reviewBadge(c.review)),
      h('td', { text: fmtShort(c.created_at) }), h('td', { text: fmtShort(c.updated_at) }),
      h('td', { text: c.submitted_by || c.device || '—' }),
      h('td', {}, c.conflict ? h('span', { class: 'badge bad', text: t('conflict_flag') }) : ''),
      h('td', {}, h('a', { href: '#/record/' + c.record, 'data-testid': 'open-record', text: t('open_record') }))));
    const pager = h('div', { class: 'actions' });
    const prev = h('button', { type: 'button', class: 'secondary', 'data-testid': 'sub-prev', text: '← ' + t('previous'), disabled: page === 0 });
    const next = h('button', { type: 'button', class: 'secondary', 'data-testid': 'sub-next', text: t('next') + ' →', disabled: !r.data.next_before });
    prev.addEventListener('click', () => { subFilter.cursors.pop(); ui.render(); });
    next.addEventListener('click', () => { subFilter.cursors.push(r.data.next_before); ui.render(); });
    pager.append(prev, h('span', { 'data-testid': 'sub-page', text: t('page_n', { n: page + 1 }) }), next);
    // Bulk approval of the filtered records still waiting for review: gathered from the server on click,
    // confirmed with their number, one audited action.
    const msg = h('div', { 'data-testid': 'bulk-status' });
    const bulk = h('button', { type: 'button', 'data-testid': 'bulk-approve', text: t('bulk_approve_filtered') });
    bulk.addEventListener('click', async () => {
      bulk.disabled = true;
      const pending = await pendingOfFilter();
      if (!pending.ok) { msg.replaceChildren(errorBox(pending)); bulk.disabled = false; return; }
      if (!pending.records.length) { msg.replaceChildren(h('p', { class: 'warning', text: t('bulk_none') })); bulk.disabled = false; return; }
      if (!window.confirm(t(pending.more ? 'bulk_approve_confirm_more' : 'bulk_approve_confirm', { n: pending.records.length }))) { bulk.disabled = false; return; }
      const res = await api('POST', '/v1/admin/records/review', { status: 'approved',
        records: pending.records.map((c) => ({ record: c.record, seen: c.clock })) });
      if (!res.ok) { msg.replaceChildren(errorBox(res)); bulk.disabled = false; return; }
      done(t('bulk_approved', { n: res.data.reviewed, skipped: res.data.skipped.length }));
    });
    return [h('h1', { text: t('nav_submissions') }), form,
      h('p', { class: 'muted', 'data-testid': 'sub-count', text: t('sub_page_count', { n: recs.length, page: page + 1 }) }),
      h('div', { class: 'actions' }, bulk), msg,
      rows.length ? table('sub-table', [t('col_form'), t('municipality'), t('community'), t('col_review'), t('col_received'), t('col_changed'),
        t('col_enumerator'), t('col_conflicts'), ''], rows)
        : h('p', { class: 'muted', 'data-testid': 'sub-empty', text: t('sub_empty') }), pager];
  }

  // ---- One record --------------------------------------------------------------------------------
  function choiceLabel(def, field, v) {
    const lists = (def && def.choice_lists) || {};
    const list = typeof field.choices === 'string' ? lists[field.choices] : field.choices;
    const one = (code) => {
      const c = Array.isArray(list) ? list.find((x) => x.code === code || x.value === code) : null;
      if (c) return pickLang(c.label, String(code));
      if (typeof field.choices === 'string' && field.choices === 'L:municipality') return placeName('municipality', code);
      if (typeof field.choices === 'string' && field.choices.startsWith('L:community')) return placeName('community', code);
      return String(code);
    };
    return Array.isArray(v) ? v.map(one).join(', ') : one(v);
  }
  function answerText(def, key, v) {
    const f = findField(def, key);
    if (v === null || v === undefined) return '—';
    if (f && (f.type === 'select_one' || f.type === 'select_multiple')) return choiceLabel(def, f, v);
    if (typeof v === 'boolean') return v ? t('yes') : t('no');
    if (f && f.type === 'geopoint' && typeof v === 'object') return `${ui.fmtNumber(v.lat)}; ${ui.fmtNumber(v.lon)} (± ${ui.fmtNumber(v.acc)} m)`;
    if (ui.photoText(v)) return ui.photoText(v);
    if (Array.isArray(v) && v.every((x) => typeof x === 'object')) return t('n_items', { n: v.length });
    if (typeof v === 'number') return ui.fmtNumber(v);
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  async function renderRecord(parts, s) {
    const id = parts[1] || '';
    const [r, hist] = await Promise.all([api('GET', '/v1/records/' + encodeURIComponent(id)), api('GET', '/v1/records/' + encodeURIComponent(id) + '/history')]);
    if (r.status === 404) return h('p', { class: 'error', text: t('record_not_found') });
    if (!r.ok) return errorBox(r);
    const live = r.data.live && r.data.live[0];
    const def = live ? await formDef(r.data.form, live.form_version) : null;
    const body = live && live.body && typeof live.body === 'object' ? live.body : {};
    const versions = hist.ok ? hist.data.versions : [];
    const current = versions.find((v) => v.live);
    const out = [h('p', {}, h('a', { href: '#/submissions', text: '← ' + t('back_to_submissions') })),
      h('h1', { 'data-testid': 'record-title', text: formTitle(def, r.data.form) + ' · ' + placeName('municipality', r.data.scope.municipality) }),
      h('p', { class: 'muted' }, reviewBadge(body.review_status), ' ',
        current ? t('version_of', { when: fmtShort(current.server_time), who: authorText(current.author) }) : '',
        r.data.conflict ? h('span', { class: 'badge bad', text: ' ' + t('conflict_flag') }) : '')];
    if (body.review_comment) out.push(h('p', { class: 'warning', 'data-testid': 'review-comment', text: t('review_comment_was', { comment: body.review_comment }) }));
    // Review.
    if (s.user.role !== 'enumerator' && live && !live.deleted) {
      const comment = h('input', { type: 'text', 'data-testid': 'review-comment-input', placeholder: t('comment_hint') });
      const msg = h('div', { 'data-testid': 'review-status' });
      const box = h('div', { class: 'card', 'data-testid': 'review-box' }, h('h2', { text: t('review') }), h('label', {}, t('comment') + ' ', comment));
      const buttons = h('div', { class: 'actions' });
      for (const [status, cls] of [['approved', null], ['returned', 'secondary'], ['excluded_invalid', 'secondary danger'], ['excluded_duplicate', 'secondary danger']]) {
        const b = h('button', { type: 'button', class: cls, 'data-testid': 'review-' + status, text: t('do_' + status) });
        b.addEventListener('click', async () => {
          if (status === 'returned' && !comment.value.trim()) { msg.replaceChildren(h('p', { class: 'warning', text: t('return_needs_comment') })); return; }
          const bodyOut = { seen: live.clock, status };
          if (comment.value.trim()) bodyOut.comment = comment.value.trim();
          const res = await api('POST', '/v1/admin/records/' + encodeURIComponent(id) + '/review', bodyOut);
          if (!res.ok) { msg.replaceChildren(errorBox(res)); return; }
          done(t('reviewed_ok', { status: t('review_' + status) }));
        });
        buttons.append(b);
      }
      box.append(buttons, msg);
      out.push(box);
    }
    // Answers, labelled, in the form's order.
    const keys = [];
    const walk = (fields) => { for (const f of fields || []) { if (f.key in body) keys.push(f.key); } };
    walk(def && def.fields);
    for (const k of Object.keys(body).sort()) if (!keys.includes(k)) keys.push(k);
    out.push(h('h2', { text: t('answers') }), table('answers-table', [t('col_question'), t('col_answer')],
      keys.map((k) => h('tr', {}, h('td', { text: fieldLabel(def, k) }), ui.photoCell(body[k], 'photo-' + k, fieldLabel(def, k), (r.data.pending_upload || []).includes(k)) || h('td', { class: 'value', text: answerText(def, k, body[k]) })))));
    // History.
    const hrows = versions.map((v) => h('tr', { 'data-testid': 'history-row', class: v.live ? 'flagged' : null },
      h('td', { text: fmtShort(v.server_time) }), h('td', { text: authorText(v.author) }),
      h('td', { text: v.deleted ? t('deleted') : (v.changed || []).slice(0, 8).map((p) => fieldLabel(def, p)).join(', ') + ((v.changed || []).length > 8 ? ' …' : '') }),
      h('td', { text: v.parents && v.parents.length > 1 ? t('merge_of', { n: v.parents.length }) : '' }),
      h('td', { text: v.live ? t('current_value') : '' })));
    out.push(h('h2', { text: t('history') }), table('history-table', [t('col_when'), t('col_by'), t('col_changed_fields'), '', ''], hrows));
    return out;
  }

  ui.answerText = answerText;
  return {
    submissions: { roles: ['admin', 'supervisor', 'me_officer'], nav: 'nav_submissions', render: renderSubmissions },
    record: { roles: ['admin', 'supervisor', 'me_officer'], render: renderRecord },
    tablets: { roles: ['admin'], nav: 'nav_tablets', render: renderTablets },
    users: { roles: ['admin'], nav: 'nav_users', render: renderUsers },
    quarantine: { roles: ['admin', 'supervisor'], nav: 'nav_quarantine', render: renderQuarantine },
    audit: { roles: ['admin'], nav: 'nav_audit', render: renderAudit },
  };
};
