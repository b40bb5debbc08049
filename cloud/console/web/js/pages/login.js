// pages/login.js - the login form: POST /api/login, then the case search.

import { h, field } from '../dom.js';
import { t } from '../i18n.js';
import * as api from '../api.js';
import { errorText } from '../errors.js';

export function render(ctx) {
  const name = h('input', { type: 'text', name: 'username', autocomplete: 'username', required: true, maxlength: 63, autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true, maxlength: 1024 });
  const result = h('div', { class: 'form-result', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'button primary' }, t('login_submit'));

  async function onSubmit(e) {
    e.preventDefault();
    result.textContent = '';
    submit.disabled = true;
    try {
      const r = await api.post('/api/login', { name: name.value.trim(), password: password.value });
      password.value = '';
      ctx.setUser(r.user, r.csrf);
      ctx.announce(t('login_done', { name: r.user.name }));
      ctx.go('search');
    } catch (err) {
      password.value = '';
      let text = errorText(err);
      if (err.status === 401) text = t('login_bad');
      if (err.status === 429 && err.retryAfter) text = t('login_locked', { minutes: Math.ceil(Number(err.retryAfter) / 60) });
      result.appendChild(h('p', { class: 'notice notice-error', role: 'alert' }, text));
      submit.disabled = false;
      password.focus();
    }
  }

  return h('section', { class: 'login-panel', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, t('login_title')),
    h('p', { class: 'lead' }, t('login_lead')),
    h('form', { class: 'form', onsubmit: onSubmit, novalidate: false },
      field(t('login_name'), name),
      field(t('login_password'), password, t('login_password_help')),
      h('div', { class: 'actions' }, submit),
      result),
    h('p', { class: 'fineprint' }, t('login_notice')));
}
