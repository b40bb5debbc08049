// casebar.js - the header above a traced case's pages: who the case is (by
// pseudonym), the window and parameters as the server used them, the audit
// entry the trace wrote, the two case pages, and the case's actions: CSV
// export and (investigator, supervisor) a request to reveal the contacts.
// On an index node (cluster mode) it also says how far behind PostgreSQL
// the index was when the trace ran; an embedded store says nothing.

import { h } from './dom.js';
import { t } from './i18n.js';
import * as api from './api.js';
import { errorText } from './errors.js';
import { dateTime, dateTimeSec } from './time.js';
import { downloadBlob } from './download.js';

function fact(label, value) {
  return h('div', { class: 'fact' }, h('dt', null, label), h('dd', null, value));
}

export function caseFacts(c, extra) {
  return h('dl', { class: 'facts' },
    fact(t('case_pid'), h('code', { class: 'pid' }, c.pid)),
    fact(t('case_window'), `${dateTime(c.from)} – ${dateTime(c.to)}`),
    fact(t('case_depth'), t(`depth_${c.depth}`)),
    fact(t('case_min_overlap'), t('minutes_within', { min: c.min_overlap_minutes, period: periodText(c.risk_period_minutes) })),
    fact(t('case_incubation'), t('days_n', { n: c.incubation_days })),
    extra || null);
}

// "5 s", "3 min", "2 h", "3 days": how long before the trace.
function agoText(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return t('seconds_n', { n: s });
  if (s < 3600) return t('minutes_n', { n: Math.floor(s / 60) });
  if (s < 2 * 86400) return t('hours_n', { n: Math.floor(s / 3600) });
  return t('days_n', { n: Math.floor(s / 86400) });
}

// The index node's lag (the trace's "index"), or null on an embedded
// store.  A warning when it was behind, or had not read PostgreSQL for
// over a minute (a stopped index node).
export function indexLagNote(ix) {
  if (ix === undefined) return null;
  if (ix === null) return h('p', { class: 'notice notice-warn index-lag', role: 'note' }, t('index_unknown'));
  const args = { at: dateTimeSec(ix.read_at), ago: agoText(ix.age_seconds), n: ix.behind };
  const stale = ix.behind > 0 || ix.age_seconds > 60;
  return h('p', { class: `notice ${stale ? 'notice-warn' : 'notice-info'} index-lag`, role: 'note' },
    t(ix.behind > 0 ? 'index_behind' : 'index_caught_up', args));
}

export function periodText(minutes) {
  if (minutes % 1440 === 0 && minutes > 2880) return t('days_n', { n: minutes / 1440 });
  if (minutes % 60 === 0) return t('hours_n', { n: minutes / 60 });
  return t('minutes_n', { n: minutes });
}

export function exportButton(ctx, body, status) {
  const b = h('button', { type: 'button', class: 'button', id: 'export-csv' }, t('export_csv'));
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      const file = await api.postFile('/api/export', body);
      downloadBlob(file.blob, file.filename);
      status.replaceChildren(h('p', { class: 'notice notice-ok' }, t('export_done', { file: file.filename })));
      ctx.announce(t('export_done', { file: file.filename }));
    } catch (err) {
      status.replaceChildren(h('p', { class: 'notice notice-error', role: 'alert' }, errorText(err)));
    }
    b.disabled = false;
  });
  return b;
}

function revealRequest(ctx) {
  const p = ctx.state.params;
  const reason = h('input', { type: 'text', id: 'reveal-reason', required: true, maxlength: 255, value: p.reason || '' });
  const caseRef = h('input', { type: 'text', id: 'reveal-case-ref', required: true, maxlength: 63, value: p.case_ref || '' });
  const result = h('div', { class: 'form-result', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'button primary' }, t('reveal_ask_submit'));
  const form = h('form', { class: 'form reveal-form', id: 'reveal-form', hidden: true },
    h('p', null, t('reveal_ask_lead')),
    h('div', { class: 'field' }, h('label', { for: reason.id }, t('reveal_reason')), reason),
    h('div', { class: 'field' }, h('label', { for: caseRef.id }, t('search_case_ref')), caseRef),
    h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'button', onclick: () => toggle(false) }, t('cancel'))),
    result);
  const open = h('button', { type: 'button', class: 'button reveal-ask', id: 'reveal-ask', 'aria-expanded': 'false', 'aria-controls': 'reveal-form' }, t('reveal_ask'));
  function toggle(show) {
    form.hidden = !show;
    open.setAttribute('aria-expanded', String(show));
    if (show) reason.focus(); else open.focus();
  }
  open.addEventListener('click', () => toggle(form.hidden));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!reason.value.trim()) { reason.focus(); return; }
    if (!caseRef.value.trim()) { caseRef.focus(); return; }
    submit.disabled = true;
    try {
      const body = Object.assign({}, p, { reason: reason.value.trim(), case_ref: caseRef.value.trim() });
      const r = await api.post('/api/reveals/ask', body);
      const msg = t('reveal_asked', { id: r.id });
      result.replaceChildren(h('p', { class: 'notice notice-ok', role: 'status' }, msg, ' ',
        h('a', { href: '#/reveals' }, t('reveal_track'))));
      ctx.announce(msg);
    } catch (err) {
      result.replaceChildren(h('p', { class: 'notice notice-error', role: 'alert' }, errorText(err)));
      submit.disabled = false;
    }
  });
  return { open, form };
}

export function caseBar(ctx, currentPage) {
  const tr = ctx.state.trace;
  const tabs = h('nav', { class: 'tabs', 'aria-label': t('case_pages') },
    ['timeline', 'contacts'].map((p) => h('a', { href: `#/${p}`, class: 'tab', 'aria-current': p === currentPage ? 'page' : null }, t(`nav_${p}`))));
  const status = h('div', { class: 'form-result', 'aria-live': 'polite' });
  const actions = h('div', { class: 'case-actions' }, exportButton(ctx, ctx.state.params, status));
  let form = null;
  if (ctx.can('investigator')) {
    const rr = revealRequest(ctx);
    actions.appendChild(rr.open);
    form = rr.form;
  }
  const audit = tr.audit_seq !== undefined ? fact(t('case_audit_seq'), t('audit_entry_n', { n: tr.audit_seq })) : null;
  return h('div', { class: 'casebar' },
    h('div', { class: 'casebar-main' }, caseFacts(tr.case, audit), actions),
    form,
    status,
    indexLagNote(tr.index),
    h('p', { class: 'sealed-note' }, t('case_sealed_note')),
    tabs);
}
