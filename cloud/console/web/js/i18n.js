// i18n.js - every string the console shows comes from one catalog per
// language (lang/ko.js, lang/en.js, the same keys in both).  Korean is the
// default; the choice is kept in localStorage.  t("key", {n: 3}) fills
// {n}-style placeholders.  A key missing from a catalog shows as the key
// itself, so it is visible rather than blank (tests check both catalogs
// have the same keys).

import ko from './lang/ko.js';
import en from './lang/en.js';

export const CATALOGS = { ko, en };
const STORE_KEY = 'anshim.console.lang';
let current = 'ko';
const listeners = [];

try {
  const saved = window.localStorage.getItem(STORE_KEY);
  if (saved && CATALOGS[saved]) current = saved;
} catch (e) {
  // storage may be disabled: stay with Korean
}

export function lang() { return current; }

export function setLang(code) {
  if (!CATALOGS[code] || code === current) return;
  current = code;
  try { window.localStorage.setItem(STORE_KEY, code); } catch (e) { /* not kept */ }
  applyStatic();
  for (const fn of listeners) fn(code);
}

export function onLangChange(fn) { listeners.push(fn); }

export function t(key, vars) {
  const text = CATALOGS[current][key] ?? CATALOGS.ko[key] ?? key;
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

// Fill the static page shell: data-i18n sets text, data-i18n-label sets
// aria-label, and the document's lang and title follow the language.
export function applyStatic(root) {
  const scope = root || document;
  document.documentElement.lang = current;
  for (const el of scope.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of scope.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
}
