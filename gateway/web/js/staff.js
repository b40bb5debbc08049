// staff.js - the staff screen: PIN login (with an on-screen keypad for a
// touchscreen), the paper-register form, the CSV upload and the status
// page.  The gateway answers a register entry with "recorded" and nothing
// else: the name and phone typed here are never sent back, and the form
// clears them once the entry is recorded.

import { t, lang, setLang, applyStatic } from './i18n.js';

const $ = (id) => document.getElementById(id);
const FIELDS = ['name', 'phone', 'headcount', 'date', 'time', 'exit_time'];
let session = null;

async function api(path, opts = {}) {
  const r = await fetch(path, { cache: 'no-store', credentials: 'same-origin', ...opts });
  let body = null;
  const type = r.headers.get('Content-Type') || '';
  body = type.startsWith('application/json') ? await r.json() : await r.text();
  return { status: r.status, body };
}

function postJson(path, obj) {
  return api(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(obj) });
}

function notice(el, kind, text) {
  el.className = 'notice ' + kind;
  el.textContent = text;
  el.hidden = false;
}

// ---- pages ----

function show(tab) {
  for (const id of ['login', 'register', 'upload', 'status']) $(id).hidden = id !== tab;
  $('tabs').hidden = tab === 'login';
  $('logout').hidden = tab === 'login';
  for (const b of document.querySelectorAll('.tab')) {
    if (b.dataset.tab === tab) b.setAttribute('aria-current', 'page');
    else b.removeAttribute('aria-current');
  }
  if (tab === 'status') loadStatus();
  if (tab === 'register') $('f-name').focus();
  if (tab === 'login') $('pin').focus();
}

async function loadSession() {
  const r = await api('api/session');
  session = r.body;
  fillNow();
  show(session.staff ? 'register' : 'login');
}

function fillNow() {
  if (!session) return;
  $('f-date').value = session.today;
  $('f-time').value = session.now_hm;
}

function loggedOut() {
  notice($('login-msg'), 'warn', t('session_over'));
  show('login');
}

// ---- login ----

function setupKeypad() {
  $('keypad').addEventListener('click', (e) => {
    const key = e.target.closest('button')?.dataset.key;
    if (!key) return;
    const pin = $('pin');
    if (key === 'del') pin.value = pin.value.slice(0, -1);
    else if (pin.value.length < 12) pin.value += key;
  });
  $('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const pin = $('pin').value;
    $('pin').value = '';
    $('login-go').disabled = true;
    try {
      const r = await postJson('api/login', { pin });
      const msg = $('login-msg');
      if (r.status === 200) {
        msg.hidden = true;
        await loadSession();
      } else if (r.body && r.body.error === 'wrong-pin') {
        notice(msg, 'bad', t('login_wrong', { n: r.body.tries_left }));
      } else if (r.body && r.body.error === 'locked') {
        notice(msg, 'bad', t('login_locked', { m: Math.max(1, Math.ceil(r.body.retry_after / 60)) }));
      } else if (r.body && r.body.error === 'no-pin') {
        notice(msg, 'bad', t('login_no_pin'));
      } else {
        notice(msg, 'bad', t('login_failed'));
      }
    } finally {
      $('login-go').disabled = false;
      $('pin').focus();
    }
  });
}

// ---- the register form ----

function markField(name, why) {
  const box = document.querySelector(`.field[data-field="${name}"]`);
  const msg = $('m-' + name);
  const input = $('f-' + name);
  if (why) {
    box.classList.add('bad');
    input.setAttribute('aria-invalid', 'true');
    // the gateway's reason is in English: Korean staff get the field's own hint
    // (the exact reason stays in the tooltip)
    msg.textContent = lang() === 'ko' ? t(`bad_${name}`) : why;
    msg.title = why;
    msg.hidden = false;
  } else {
    box.classList.remove('bad');
    input.removeAttribute('aria-invalid');
    msg.hidden = true;
  }
}

function setupRegister() {
  $('register-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const entry = {};
    for (const f of FIELDS) entry[f] = $('f-' + f).value.trim();
    const msg = $('register-msg');
    notice(msg, 'warn', t('register_sending'));
    $('register-go').disabled = true;
    let r;
    try {
      r = await postJson('api/register', entry);
    } catch (err) {
      r = { status: 0, body: null };
    } finally {
      $('register-go').disabled = false;
    }
    for (const k of Object.keys(entry)) entry[k] = '';
    const b = r.body || {};
    if (r.status === 401) { loggedOut(); return; }
    if (r.status === 422 && b.fields) {
      let first = null;
      for (const f of FIELDS) {
        markField(f, b.fields[f]);
        if (b.fields[f] && !first) first = f;
      }
      notice(msg, 'bad', t('register_fix'));
      if (first) $('f-' + first).focus();
      return;
    }
    for (const f of FIELDS) markField(f, null);
    if (r.status === 200 && (b.result === 'recorded' || b.result === 'duplicate')) {
      notice(msg, 'good', t(b.result === 'recorded' ? 'register_ok' : 'register_duplicate'));
      for (const f of ['name', 'phone', 'exit_time']) $('f-' + f).value = '';
      $('f-headcount').value = '1';
      const s = await api('api/session');
      if (s.status === 200) { session = s.body; fillNow(); }
      $('f-name').focus();
    } else if (b.result === 'not-collecting') {
      notice(msg, 'warn', t('register_not_collecting'));
    } else if (b.result === 'rejected') {
      notice(msg, 'bad', t('register_rejected', { reason: b.reason }));
    } else if (b.error === 'no-policy') {
      notice(msg, 'bad', t('no_policy'));
    } else {
      notice(msg, 'bad', t('busy'));
    }
  });
}

// ---- CSV upload ----

function setupUpload() {
  $('upload-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const file = $('csv').files[0];
    const msg = $('upload-msg');
    const report = $('upload-report');
    if (!file) { notice(msg, 'warn', t('upload_pick')); return; }
    notice(msg, 'warn', t('upload_sending'));
    $('upload-go').disabled = true;
    let r;
    try {
      r = await api('api/import', { method: 'POST', headers: { 'Content-Type': 'text/csv' }, body: await file.text() });
    } catch (err) {
      r = { status: 0, body: null };
    } finally {
      $('upload-go').disabled = false;
    }
    if (r.status === 401) { loggedOut(); return; }
    if (typeof r.body !== 'string') {
      notice(msg, 'bad', r.body && r.body.error === 'no-policy' ? t('no_policy') : t('busy'));
      report.hidden = true;
      return;
    }
    report.textContent = '';
    let bad = 0;
    for (const line of r.body.split('\n')) {
      if (!line) continue;
      const span = document.createElement('span');
      span.textContent = line + '\n';
      if (/^line \d+:/.test(line)) { span.className = 'bad-line'; bad++; }
      report.append(span);
    }
    report.hidden = false;
    notice(msg, r.status === 200 && !bad ? 'good' : r.status === 200 ? 'warn' : 'bad',
      r.status !== 200 ? t('upload_failed') : bad ? t('upload_done') : t('upload_done_clean'));
  });
}

// ---- status ----

function statusItem(list, level, what, value, todo) {
  const li = document.createElement('li');
  if (level !== 'ok') li.className = level;
  li.dataset.level = level;
  const w = document.createElement('span'); w.className = 'what'; w.textContent = what;
  const v = document.createElement('span'); v.className = 'value'; v.textContent = value;
  li.append(w, v);
  if (todo && level !== 'ok') {
    const d = document.createElement('span'); d.className = 'todo'; d.textContent = todo; li.append(d);
  }
  list.append(li);
}

function when(unixSeconds, tz) {
  const opts = { dateStyle: 'medium', timeStyle: 'short' };
  try { return new Date(unixSeconds * 1000).toLocaleString(lang() === 'ko' ? 'ko-KR' : 'en-GB', { ...opts, timeZone: tz || 'Asia/Seoul' }); }
  catch (e) { return new Date(unixSeconds * 1000).toLocaleString(); }
}

async function loadStatus() {
  const list = $('status-list');
  const r = await api('api/status');
  if (r.status === 401) { loggedOut(); return; }
  list.textContent = '';
  if (r.status !== 200) { statusItem(list, 'bad', t('st_failed'), '', ''); return; }
  const s = r.body.gateway;
  const tz = r.body.timezone;
  if (s.alert_level === 0) {
    statusItem(list, 'bad', t('st_collecting'), t('st_no_policy'), t('st_no_policy_todo'));
  } else if (s.collecting) {
    statusItem(list, 'ok', t('st_collecting'), t('st_collecting_yes', { level: s.alert_level }));
  } else {
    statusItem(list, 'warn', t('st_collecting'), t('st_collecting_no', { level: s.alert_level }), t('st_collecting_no_todo'));
  }
  const old = s.unsent > 0 && s.oldest_unsent && r.body.now - s.oldest_unsent > 3600;
  statusItem(list, old ? 'warn' : 'ok', t('st_backlog'),
    s.unsent > 0 ? t('st_backlog_value', { n: s.unsent }) : t('st_backlog_none'), t('st_backlog_todo'));
  if (!s.sync || !s.sync.enabled) {
    statusItem(list, 'warn', t('st_sync'), t('st_sync_offline'), t('st_sync_offline_todo'));
  } else {
    const last = s.sync.last_ack_time ? when(s.sync.last_ack_time, tz) : t('st_sync_never');
    if (s.sync.connected) statusItem(list, 'ok', t('st_sync'), last);
    else statusItem(list, 'bad', t('st_sync'), t('st_sync_down') + ' — ' + last, t('st_sync_down_todo'));
  }
  const clock = { synced: 'st_clock_synced', corrected: 'st_clock_corrected', unsynced: 'st_clock_unsynced' }[s.clock] || 'st_clock_unsynced';
  statusItem(list, s.clock === 'unsynced' ? 'warn' : 'ok', t('st_clock'), t(clock), t('st_clock_todo'));
  if (s.map_size) {
    const pct = Math.round(100 * s.map_used / s.map_size);
    statusItem(list, pct >= 90 ? 'bad' : pct >= 75 ? 'warn' : 'ok', t('st_space'), t('st_space_value', { pct }), t('st_space_todo'));
  }
  const sources = s.sources || [];
  if (!sources.length) statusItem(list, 'warn', t('st_sources'), t('st_sources_none'), t('st_source_todo'));
  for (const src of sources) {
    const known = { 'open': 'src_open', 'listening': 'src_listening', 'reading file': 'src_reading', 'end of input': 'src_eof' }[src.state];
    statusItem(list, known ? 'ok' : 'bad', t('st_sources') + ': ' + src.name, known ? t(known) : src.state, t('st_source_todo'));
  }
  statusItem(list, 'ok', t('st_counts'), t('st_counts_value', { a: s.accepted, d: s.duplicate, r: s.rejected, n: s.not_collecting }));
  const err = s.last_error || (s.sync && s.sync.last_error) || '';
  statusItem(list, err ? 'warn' : 'ok', t('st_last_error'), err || t('st_last_error_none'), t('st_last_error_todo'));
}

// ---- start ----

function setup() {
  applyStatic();
  $('lang').textContent = t('other_lang');
  $('lang').addEventListener('click', () => {
    setLang(lang() === 'ko' ? 'en' : 'ko');
    $('lang').textContent = t('other_lang');
    if (!$('status').hidden) loadStatus();
  });
  for (const b of document.querySelectorAll('.tab')) b.addEventListener('click', () => show(b.dataset.tab));
  $('logout').addEventListener('click', async () => {
    await postJson('api/logout', {});
    show('login');
  });
  $('status-refresh').addEventListener('click', loadStatus);
  setupKeypad();
  setupRegister();
  setupUpload();
  loadSession();
}

setup();
