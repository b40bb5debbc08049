// pages/reveals.js - reveal requests: an investigator's own requests (and
// the way to open an approved one), and the supervisor's approval queue.
// A supervisor decides only other people's pending requests (the server
// refuses the rest too).  A break-glass reveal from the command line is
// listed in red: it was opened without a second person.

import { h, field } from '../dom.js';
import { t } from '../i18n.js';
import * as api from '../api.js';
import { errorText } from '../errors.js';
import { dateTime } from '../time.js';
import { shortPid } from '../format.js';

// A field under any of the names the request object may use.
export function pick(o, ...names) {
  for (const n of names) if (o[n] !== undefined && o[n] !== null) return o[n];
  return undefined;
}

export function requestKind(r) {
  const kind = pick(r, 'kind', 'action', 'type');
  return kind === 'break-glass' || r.break_glass === true || r.state === 'break-glass' ? 'break-glass' : 'request';
}

function stateBadge(r) {
  const st = requestKind(r) === 'break-glass' ? 'break-glass' : (r.state || 'pending');
  return h('span', { class: `state state-${st}` }, t(`state_${st}`) === `state_${st}` ? st : t(`state_${st}`));
}

// Break-glass reveals (the command line's, without a second person), from
// the audit log: shown to supervisors in red below the queue.
async function breakGlass() {
  const box = h('section', { class: 'break-glass-box', 'aria-labelledby': 'bg-h2' }, h('h2', { id: 'bg-h2' }, t('break_glass_title')));
  let entries;
  try {
    entries = ((await api.get('/api/audit')).entries || []).filter((e) => e.break_glass === true || e.action === 'break-glass');
  } catch (err) {
    box.appendChild(h('p', { class: 'notice notice-error', role: 'alert' }, errorText(err)));
    return box;
  }
  box.appendChild(h('p', { class: 'lead' }, t('break_glass_lead')));
  if (!entries.length) {
    box.appendChild(h('p', { class: 'muted', id: 'break-glass-none' }, t('break_glass_none')));
    return box;
  }
  box.appendChild(h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'break-glass-table', 'aria-labelledby': 'bg-h2' },
    h('thead', null, h('tr', null, ['col_seq', 'col_time', 'col_user', 'col_case', 'col_revealed', 'col_reason'].map((k) => h('th', { scope: 'col', class: k === 'col_seq' || k === 'col_revealed' ? 'num' : null }, t(k))))),
    h('tbody', null, entries.slice().reverse().map((e) => h('tr', { class: 'row-break-glass', dataset: { seq: e.seq } },
      h('th', { scope: 'row', class: 'num' }, e.seq),
      h('td', { class: 'nowrap' }, dateTime(e.time)),
      h('td', null, e.who || '—'),
      h('td', null, e.case ? h('code', { class: 'pid', title: e.case }, shortPid(e.case)) : '—'),
      h('td', { class: 'num' }, e.revealed ?? '—'),
      h('td', { class: 'wrap' }, e.reason || '—')))))));
  return box;
}

export function render(ctx) {
  const { state } = ctx;
  const mode = state.revealsMode || (ctx.can('supervisor') ? 'pending' : 'all');
  const root = h('section', { 'aria-labelledby': 'rv-h1' });
  const result = h('div', { class: 'form-result', 'aria-live': 'polite' });
  const tableWrap = h('div', { class: 'table-wrap' });
  const panel = h('div', { class: 'decision-panel', hidden: true });

  const radios = h('fieldset', { class: 'segmented' }, h('legend', null, t('reveals_show')),
    ['pending', 'all'].map((m) => {
      const id = `rv-mode-${m}`;
      const input = h('input', { type: 'radio', name: 'rv-mode', id, value: m, checked: m === mode });
      input.addEventListener('change', () => { state.revealsMode = m; ctx.rerender(); });
      return h('span', { class: 'segment' }, input, h('label', { for: id }, t(`reveals_${m}`)));
    }));

  root.append(
    h('h1', { id: 'rv-h1' }, ctx.can('supervisor') ? t('reveals_title_supervisor') : t('reveals_title')),
    h('p', { class: 'lead' }, ctx.can('supervisor') ? t('reveals_lead_supervisor') : t('reveals_lead')),
    radios, result, panel, tableWrap);

  function openDecision(r, approve, button) {
    const reason = h('input', { type: 'text', maxlength: 255, required: !approve, id: 'decision-reason' });
    const confirm = h('button', { type: 'submit', class: approve ? 'button primary' : 'button danger', id: 'decision-confirm' },
      approve ? t('reveal_approve_confirm') : t('reveal_refuse_confirm'));
    const cancel = h('button', { type: 'button', class: 'button' }, t('cancel'));
    const form = h('form', { class: 'form', 'aria-labelledby': 'decision-title' },
      h('h2', { id: 'decision-title' }, t(approve ? 'reveal_approve_title' : 'reveal_refuse_title', { id: r.id })),
      h('p', null, t('reveal_decide_lead', { who: pick(r, 'asked_by', 'asker', 'who') || '—', case_ref: pick(r, 'case_ref') || '—', reason: r.reason || '—' })),
      field(approve ? t('reveal_decide_reason_optional') : t('reveal_decide_reason'), reason),
      h('div', { class: 'actions' }, confirm, cancel));
    cancel.addEventListener('click', () => { panel.hidden = true; panel.replaceChildren(); button.focus(); });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!approve && !reason.value.trim()) { reason.focus(); return; }
      confirm.disabled = true;
      try {
        const body = { id: r.id, approve };
        if (reason.value.trim()) body.reason = reason.value.trim();
        await api.post('/api/reveals/decide', body);
        state.flash = { kind: 'ok', text: t(approve ? 'reveal_approved' : 'reveal_refused', { id: r.id }) };
        ctx.announce(state.flash.text);
        ctx.rerender();
      } catch (err) {
        form.appendChild(h('p', { class: 'notice notice-error', role: 'alert' }, errorText(err)));
        confirm.disabled = false;
      }
    });
    panel.replaceChildren(form);
    panel.hidden = false;
    reason.focus();
  }

  function actions(r) {
    const me = state.user.name;
    const asker = pick(r, 'asked_by', 'asker', 'who');
    const mine = r.mine ?? asker === me;
    const pending = (r.state || 'pending') === 'pending';
    const mayDecide = r.may_decide ?? (pending && ctx.can('supervisor') && !mine);
    const mayOpen = r.may_open ?? (mine && (r.state === 'approved' || r.state === 'revealed'));
    const out = [];
    if (requestKind(r) === 'break-glass') return h('td', null, h('span', { class: 'muted' }, t('reveal_break_glass_note')));
    if (mayDecide) {
      const ok = h('button', { type: 'button', class: 'button small primary approve', dataset: { id: r.id } }, t('reveal_approve'));
      const no = h('button', { type: 'button', class: 'button small danger refuse', dataset: { id: r.id } }, t('reveal_refuse'));
      ok.addEventListener('click', () => openDecision(r, true, ok));
      no.addEventListener('click', () => openDecision(r, false, no));
      out.push(ok, ' ', no);
    } else if (pending && mine) {
      out.push(h('span', { class: 'muted' }, t('reveal_wait_other')));
    }
    if (mayOpen) {
      out.push(h('a', { href: `#/reveal/${r.id}`, class: 'button small primary open-reveal', dataset: { id: r.id } }, t('reveal_open')));
    }
    return h('td', { class: 'actions-cell' }, out.length ? out : '—');
  }

  return (async () => {
    let list;
    try {
      list = await api.get('/api/reveals', { state: mode });
    } catch (err) {
      result.replaceChildren(h('p', { class: 'notice notice-error', role: 'alert' }, errorText(err)));
      return root;
    }
    const reqs = list.requests || [];
    const table = h('table', { class: 'data reveals-table', id: 'reveals-table' },
      h('caption', null, t('reveals_caption', { n: reqs.length })),
      h('thead', null, h('tr', null, ['col_request', 'col_state', 'col_asked', 'col_asker', 'col_case', 'col_case_ref', 'col_reason', 'col_decision', 'col_actions']
        .map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', null, reqs.length ? reqs.map((r) => {
        const bg = requestKind(r) === 'break-glass';
        const decidedBy = pick(r, 'decided_by', 'supervisor', 'approver');
        const pid = pick(r, 'case', 'pid');
        return h('tr', { class: bg ? 'row-break-glass' : null, dataset: { id: r.id, state: r.state || '', kind: requestKind(r) } },
          h('th', { scope: 'row', class: 'num' }, `#${r.id}`),
          h('td', null, stateBadge(r)),
          h('td', { class: 'nowrap' }, dateTime(pick(r, 'asked_at', 'asked', 'time'))),
          h('td', null, pick(r, 'asked_by', 'asker', 'who') || '—'),
          h('td', null, pid ? h('code', { class: 'pid', title: pid }, shortPid(pid)) : '—'),
          h('td', null, pick(r, 'case_ref') || '—'),
          h('td', { class: 'wrap' }, r.reason || '—'),
          h('td', { class: 'wrap' }, decidedBy ? [t('decided_by', { who: decidedBy, when: dateTime(pick(r, 'decided_at', 'decided')) }),
            pick(r, 'decision_reason', 'decide_reason') ? h('span', { class: 'note' }, pick(r, 'decision_reason', 'decide_reason')) : null] : '—'),
          actions(r));
      }) : h('tr', null, h('td', { colspan: 9, class: 'empty' }, mode === 'pending' ? t('reveals_none_pending') : t('reveals_none')))));
    tableWrap.replaceChildren(table);
    if (ctx.can('supervisor')) root.appendChild(await breakGlass());
    return root;
  })();
}
