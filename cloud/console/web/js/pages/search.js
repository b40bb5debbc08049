// pages/search.js - case search: a phone (any spelling) or a pid, the
// infectious window and the trace's parameters, a reason and the health
// office's case reference.  GET /api/case finds the case's pseudonym, then
// POST /api/trace runs the (audited) trace and the timeline opens.

import { h, field } from '../dom.js';
import { t } from '../i18n.js';
import * as api from '../api.js';
import { errorText } from '../errors.js';
import { seoulDateString, dateTime } from '../time.js';

const PID_RE = /^[0-9a-fA-F]{32}$/;

function defaults() {
  return {
    who: '', from: seoulDateString(-14), to: seoulDateString(0), depth: '2',
    min_overlap: '15', incubation: '14', reason: '', case_ref: '',
  };
}

export function render(ctx) {
  const { state } = ctx;
  if (!state.form) state.form = defaults();
  const f = state.form;

  const input = (name, attrs) => {
    const el = h('input', Object.assign({ name, value: f[name] }, attrs));
    el.addEventListener('input', () => { f[name] = el.value; });
    return el;
  };
  const who = input('who', { type: 'text', required: true, autocomplete: 'off', spellcheck: 'false', maxlength: 64 });
  const from = input('from', { type: 'date', required: true });
  const to = input('to', { type: 'date', required: true });
  const depth = h('select', { name: 'depth' },
    ['1', '2', '3'].map((d) => h('option', { value: d, selected: f.depth === d }, t(`depth_${d}`))));
  depth.addEventListener('change', () => { f.depth = depth.value; });
  const minOverlap = input('min_overlap', { type: 'number', min: 0, max: 1440, step: 1, required: true, inputmode: 'numeric' });
  const incubation = input('incubation', { type: 'number', min: 0, max: 60, step: 1, required: true, inputmode: 'numeric' });
  const reason = input('reason', { type: 'text', required: true, maxlength: 255 });
  const caseRef = input('case_ref', { type: 'text', maxlength: 63, autocomplete: 'off' });
  const submit = h('button', { type: 'submit', class: 'button primary' }, t('search_submit'));
  const result = h('div', { class: 'form-result', 'aria-live': 'polite' });

  function fail(text, focusEl) {
    result.replaceChildren(h('p', { class: 'notice notice-error', role: 'alert' }, text));
    submit.disabled = false;
    if (focusEl) focusEl.focus();
  }

  async function onSubmit(e) {
    e.preventDefault();
    const q = who.value.trim();
    if (!q) return fail(t('search_need_case'), who);
    if (!from.value || !to.value) return fail(t('search_need_window'), from);
    if (from.value > to.value) return fail(t('search_window_order'), from);
    if (!reason.value.trim()) return fail(t('search_need_reason'), reason);
    submit.disabled = true;
    result.replaceChildren(h('p', { class: 'notice notice-info' }, t('search_running')));
    ctx.announce(t('search_running'));
    let info;
    try {
      info = await api.get('/api/case', PID_RE.test(q) ? { pid: q.toLowerCase() } : { phone: q });
    } catch (err) {
      return fail(err.status === 404 ? t('search_no_case') : errorText(err), who);
    }
    if (!info.visits) {
      ctx.announce(t('search_no_visits'));
      return fail(t('search_no_visits'), who);
    }
    // The window's days in Korea time, whatever the server's own zone is.
    const params = {
      pid: info.pid, from: `${from.value}T00:00:00+09:00`, to: `${to.value}T23:59:59+09:00`, depth: Number(depth.value),
      min_overlap: Number(minOverlap.value), incubation: Number(incubation.value),
      reason: reason.value.trim(),
    };
    if (caseRef.value.trim()) params.case_ref = caseRef.value.trim();
    try {
      const trace = await api.post('/api/trace', params);
      state.params = params;
      state.trace = trace;
      state.caseInfo = info;
      state.contactsView = null;
      state.revealed = null;
      const n = (trace.totals && trace.totals.people) || 0;
      ctx.announce(t('search_done', { visits: (trace.visits || []).length, people: n }));
      ctx.go('timeline');
    } catch (err) {
      fail(errorText(err), null);
    }
    return undefined;
  }

  const current = state.trace ? h('aside', { class: 'panel current-case', 'aria-labelledby': 'cur-title' },
    h('h2', { id: 'cur-title' }, t('search_current')),
    h('p', null, h('code', { class: 'pid' }, state.trace.case.pid), ' · ',
      t('search_current_summary', { visits: state.trace.visits.length, people: state.trace.totals.people })),
    h('p', null, h('a', { href: '#/timeline' }, t('nav_timeline')), ' · ', h('a', { href: '#/contacts' }, t('nav_contacts')))) : null;

  return h('section', { 'aria-labelledby': 'search-title' },
    h('h1', { id: 'search-title' }, t('search_title')),
    h('p', { class: 'lead' }, t('search_lead')),
    h('form', { class: 'form form-grid', onsubmit: onSubmit },
      h('fieldset', { class: 'span-2' },
        h('legend', null, t('search_case_legend')),
        field(t('search_who'), who, t('search_who_help'))),
      h('fieldset', null,
        h('legend', null, t('search_window_legend')),
        field(t('search_from'), from, t('search_from_help')),
        field(t('search_to'), to, t('search_to_help'))),
      h('fieldset', null,
        h('legend', null, t('search_params_legend')),
        field(t('search_depth'), depth),
        field(t('search_min_overlap'), minOverlap, t('search_min_overlap_help')),
        field(t('search_incubation'), incubation, t('search_incubation_help'))),
      h('fieldset', { class: 'span-2' },
        h('legend', null, t('search_purpose_legend')),
        field(t('search_reason'), reason, t('search_reason_help')),
        field(t('search_case_ref'), caseRef, t('search_case_ref_help'))),
      h('div', { class: 'actions span-2' }, submit),
      h('div', { class: 'span-2' }, result)),
    current,
    state.caseInfo && state.caseInfo.first ? h('p', { class: 'fineprint' },
      t('search_case_range', { first: dateTime(state.caseInfo.first), last: dateTime(state.caseInfo.last) })) : null);
}
