// i18n.js - every string the staff screen shows comes from one catalog per
// language (lang/ko.js, lang/en.js, the same keys in both; the browser
// tests check that).  Korean is the default; the choice is kept in
// localStorage.  t("key", {n: 3}) fills {n}-style placeholders.

import ko from './lang/ko.js';
import en from './lang/en.js';

export const CATALOGS = { ko, en };
const STORE_KEY = 'anshim.staff.lang';
let current = 'ko';

try {
  const saved = window.localStorage.getItem(STORE_KEY);
  if (saved && CATALOGS[saved]) current = saved;
} catch (e) { /* storage disabled: Korean */ }

export function lang() { return current; }

export function setLang(code) {
  if (!CATALOGS[code]) return;
  current = code;
  try { window.localStorage.setItem(STORE_KEY, code); } catch (e) { /* not kept */ }
  applyStatic();
}

export function t(key, vars) {
  const text = CATALOGS[current][key] ?? CATALOGS.ko[key] ?? key;
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

export function applyStatic() {
  document.documentElement.lang = current;
  document.title = t('title');
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
}
