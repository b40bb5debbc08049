// pages/audit.js - the audit log for supervisors: the chain's verification
// result first (intact, or the first bad entry and why), beside it the
// check against the head witnessed on the broker (intact, cut off,
// rewritten, no head...), then the entries, filtered by user and by case.
// Break-glass reveals are shown in red.

import { h, field } from '../dom.js';
import { t } from '../i18n.js';
import * as api from '../api.js';
import { errorText } from '../errors.js';
import { dateTime } from '../time.js';
import { shortPid } from '../format.js';
import { pick } from './reveals.js';

export async function render(ctx) {
  const st = ctx.state;
  if (!st.auditFilter) st.auditFilter = { user: '', case: '' };
  const root = h('section', { 'aria-labelledby': 'au-h1' }, h('h1', { id: 'au-h1' }, t('audit_title')), h('p', { class: 'lead' }, t('audit_lead')));
  const user = h('input', { type: 'text', id: 'audit-user', value: st.auditFilter.user, autocomplete: 'off', spellcheck: 'false' });
  const pid = h('input', { type: 'text', id: 'audit-case', value: st.auditFilter.case, autocomplete: 'off', spellcheck: 'false', pattern: '[0-9a-fA-F]{32}' });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': t('audit_filter') },
    field(t('audit_user'), user), field(t('audit_case'), pid, t('audit_case_help')),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button' }, t('audit_apply')),
      h('button', { type: 'button', class: 'button', onclick: () => { st.auditFilter = { user: '', case: '' }; ctx.rerender(); } }, t('audit_clear'))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    st.auditFilter = { user: user.value.trim(), case: pid.value.trim().toLowerCase() };
    ctx.rerender();
  });
  let data;
  try {
    data = await api.get('/api/audit', { user: st.auditFilter.user, case: st.auditFilter.case });
  } catch (err) {
    root.append(form, h('p', { class: 'notice notice-error', role: 'alert' }, errorText(err)));
    return root;
  }
  const v = data.verify || {};
  const verify = v.intact
    ? h('div', { class: 'verify verify-ok', role: 'status', id: 'audit-verify' },
      h('strong', null, t('audit_intact')), ' ', t('audit_intact_detail', { n: v.entries }))
    : h('div', { class: 'verify verify-bad', role: 'alert', id: 'audit-verify' },
      h('strong', null, t('audit_broken')), ' ', t('audit_broken_detail', { n: v.entries ?? 0, bad: v.first_bad ?? '—', why: v.why || '—' }));
  const entries = data.entries || [];
  root.append(verify);
  if (v.witness) root.append(witnessBox(v.witness));
  root.append(form, h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'audit-table' },
    h('caption', null, t('audit_caption', { n: entries.length })),
    h('thead', null, h('tr', null, ['col_seq', 'col_time', 'col_action', 'col_user', 'col_case', 'col_window', 'col_contacts', 'col_revealed', 'col_reason'].map((k) => h('th', { scope: 'col', class: ['col_seq', 'col_contacts', 'col_revealed'].includes(k) ? 'num' : null }, t(k))))),
    h('tbody', null, entries.length ? entries.map((e) => {
      const action = e.action || '—';
      const casePid = pick(e, 'case', 'pid');
      return h('tr', { class: action === 'break-glass' ? 'row-break-glass' : null, dataset: { seq: pick(e, 'seq', 'entry'), action } },
        h('td', { class: 'num' }, pick(e, 'seq', 'entry') ?? '—'),
        h('td', { class: 'nowrap' }, dateTime(e.time)),
        h('td', null, h('span', { class: `action action-${action}` }, t(`action_${action}`) === `action_${action}` ? action : t(`action_${action}`)),
          pick(e, 'request', 'request_id') ? h('span', { class: 'note' }, t('audit_request_n', { n: pick(e, 'request', 'request_id') })) : null),
        h('td', null, e.who || '—'),
        h('td', null, casePid ? h('code', { class: 'pid', title: casePid }, shortPid(casePid)) : '—'),
        h('td', { class: 'nowrap' }, pick(e, 'window_from', 'from') ? `${dateTime(pick(e, 'window_from', 'from'))} – ${dateTime(pick(e, 'window_to', 'to'))}` : '—'),
        h('td', { class: 'num' }, e.contacts ?? '—'),
        h('td', { class: 'num' }, e.revealed ?? '—'),
        h('td', { class: 'wrap' }, e.reason || '—', e.case_ref ? h('span', { class: 'note' }, t('audit_case_ref', { ref: e.case_ref })) : null));
    }) : h('tr', null, h('td', { colspan: 9, class: 'empty' }, t('audit_none')))))));
  return root;
}

// The witness states: [box style, headline, detail] (docs/CONSOLE.md).
const WITNESS = {
  intact: ['ok', () => t('audit_witness_intact'), (w) => t('audit_witness_intact_detail', { seq: w.seq })],
  cut: ['bad', () => t('audit_witness_cut'), (w) => t('audit_witness_cut_detail', { seq: w.seq })],
  rewritten: ['bad', () => t('audit_witness_rewritten'), (w) => t('audit_witness_rewritten_detail', { seq: w.seq })],
  forged: ['bad', () => t('audit_witness_forged'), () => t('audit_witness_forged_detail')],
  malformed: ['warn', () => t('audit_witness_malformed'), () => t('audit_witness_malformed_detail')],
  no_head: ['warn', () => t('audit_witness_no_head'), () => t('audit_witness_no_head_detail')],
  unreachable: ['warn', () => t('audit_witness_unreachable'), () => t('audit_witness_unreachable_detail')],
  log_broken: ['bad', () => t('audit_witness_not_compared'), (w) => t('audit_witness_log_broken_detail', { seq: w.seq })],
  log_unreadable: ['bad', () => t('audit_witness_not_compared'), (w) => t('audit_witness_log_unreadable_detail', { seq: w.seq })],
};

function witnessBox(w) {
  const [style, head, detail] = WITNESS[w.state] || ['warn', () => t('audit_witness_unknown'), () => w.state];
  return h('div', { class: `verify verify-${style}`, role: style === 'ok' ? 'status' : 'alert', id: 'audit-witness', dataset: { state: w.state } },
    h('strong', null, head()), ' ', detail(w),
    h('span', { class: 'note' }, w.fetched ? t('audit_witness_fetched', { time: dateTime(w.fetched) }) : null,
      w.state !== 'intact' && w.message ? [' ', t('audit_witness_message', { msg: w.message })] : null));
}
