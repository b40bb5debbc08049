// pages/policy.js - the alert level in force and the policies before it; a
// supervisor signs and publishes a new level (gateways collect at 3 and 4).

import { h, field } from '../dom.js';
import { t } from '../i18n.js';
import * as api from '../api.js';
import { errorText } from '../errors.js';
import { dateTime } from '../time.js';

export async function render(ctx) {
  const root = h('section', { 'aria-labelledby': 'po-h1' }, h('h1', { id: 'po-h1' }, t('policy_title')), h('p', { class: 'lead' }, t('policy_lead')));
  let data;
  try {
    data = await api.get('/api/policy');
  } catch (err) {
    root.appendChild(h('p', { class: 'notice notice-error', role: 'alert' }, errorText(err)));
    return root;
  }
  const cur = data.current || null;
  root.appendChild(h('div', { class: 'level-panel' },
    h('div', { class: `level-badge level-${cur ? cur.level : 0}` },
      h('span', { class: 'level-n' }, cur ? cur.level : '—'),
      h('span', { class: 'level-l' }, t('policy_level'))),
    h('div', null,
      h('p', { class: 'level-text' }, cur ? t(`level_${cur.level}`) : t('policy_none')),
      cur ? h('p', { class: 'muted' }, t('policy_issued', { when: dateTime(cur.issued) }), h('span', { class: 'note' }, t('policy_id', { seq: cur.seq ?? '—' }))) : null,
      cur ? h('p', { class: 'muted' }, cur.level >= 3 ? t('policy_collecting') : t('policy_not_collecting')) : null)));

  if (ctx.can('supervisor')) {
    const level = h('select', { id: 'policy-level' }, [1, 2, 3, 4].map((n) => h('option', { value: n, selected: cur && cur.level === n }, t(`level_${n}`))));
    const submit = h('button', { type: 'submit', class: 'button primary' }, t('policy_set'));
    const result = h('div', { class: 'form-result', 'aria-live': 'polite' });
    const form = h('form', { class: 'form panel', 'aria-labelledby': 'po-set' },
      h('h2', { id: 'po-set' }, t('policy_change')),
      field(t('policy_new_level'), level, t('policy_set_help')),
      h('div', { class: 'actions' }, submit), result);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const n = Number(level.value);
      if (!window.confirm(t('policy_confirm', { n }))) return;
      submit.disabled = true;
      try {
        await api.post('/api/policy', { level: n });
        ctx.state.flash = { kind: 'ok', text: t('policy_done', { n }) };
        ctx.announce(ctx.state.flash.text);
        ctx.rerender();
      } catch (err) {
        result.replaceChildren(h('p', { class: 'notice notice-error', role: 'alert' }, errorText(err)));
        submit.disabled = false;
      }
    });
    root.appendChild(form);
  }

  const hist = data.history || [];
  root.appendChild(h('h2', { id: 'po-hist' }, t('policy_history')));
  root.appendChild(h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'policy-table', 'aria-labelledby': 'po-hist' },
    h('thead', null, h('tr', null, ['col_issued', 'col_level', 'col_by', 'col_policy_id'].map((k) => h('th', { scope: 'col' }, t(k))))),
    h('tbody', null, hist.length ? hist.map((p) => h('tr', null,
      h('td', { class: 'nowrap' }, dateTime(p.issued)),
      h('td', null, h('span', { class: `level-chip level-${p.level}` }, p.level), ' ', t(`level_${p.level}`)),
      h('td', null, p.by || p.who || '—'),
      h('td', { class: 'muted' }, h('code', null, p.seq ?? '—')))) : h('tr', null, h('td', { colspan: 4, class: 'empty' }, t('policy_no_history')))))));
  return root;
}
