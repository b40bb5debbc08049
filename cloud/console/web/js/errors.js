// errors.js - one sentence for any failed API call: what the status means
// to the user, then the server's own message (which names the field or
// the rule that refused the request).

import { t } from './i18n.js';
import { ApiError } from './api.js';

export function errorText(e) {
  if (!(e instanceof ApiError)) return t('err_unexpected', { detail: String((e && e.message) || e) });
  if (e.status === 0) return t('err_network');
  const key = `err_status_${e.status}`;
  const base = t(key) !== key ? t(key) : t('err_status_other', { status: e.status });
  return e.message ? `${base} ${t('err_server_says', { message: e.message })}` : base;
}
