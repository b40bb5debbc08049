// app.js - the console's shell: the session (GET /api/me), the page router
// (location.hash: #/search, #/timeline, ...), the navigation for the
// user's role, the language switch and the live region that tells screen
// readers the result of every action.  Pages are modules in pages/ that
// each export render(ctx) -> Element (or a promise of one).  The state of
// the current case (the last trace) lives in memory only.

import { h, clear } from './dom.js';
import { t, lang, setLang, onLangChange, applyStatic } from './i18n.js';
import * as api from './api.js';
import { errorText } from './errors.js';
import * as loginPage from './pages/login.js';
import * as searchPage from './pages/search.js';
import * as timelinePage from './pages/timeline.js';
import * as contactsPage from './pages/contacts.js';
import * as revealsPage from './pages/reveals.js';
import * as revealedPage from './pages/revealed.js';
import * as gatewaysPage from './pages/gateways.js';
import * as policyPage from './pages/policy.js';
import * as auditPage from './pages/audit.js';

const state = {
  user: null,          // {name, role}
  params: null,        // the TRACE object of the current case
  trace: null,         // its answer from POST /api/trace
  caseInfo: null,      // GET /api/case answer
  form: null,          // the search form's values, kept across pages
  contactsView: null,  // sort, filters, page of the contacts table
  revealed: null,      // {id, trace} of the last opened request
  flash: null,         // a message to show on the next page
};

const ROUTES = [
  { path: 'login', page: loginPage, public: true },
  { path: 'search', page: searchPage, nav: 'nav_search' },
  { path: 'timeline', page: timelinePage, needsCase: true, nav: 'nav_timeline' },
  { path: 'contacts', page: contactsPage, needsCase: true, nav: 'nav_contacts' },
  { path: 'reveals', page: revealsPage, roles: ['investigator', 'supervisor'], nav: 'nav_reveals' },
  { path: 'reveal', page: revealedPage, roles: ['investigator', 'supervisor'], param: true },
  { path: 'gateways', page: gatewaysPage, nav: 'nav_gateways' },
  { path: 'policy', page: policyPage, nav: 'nav_policy' },
  { path: 'audit', page: auditPage, roles: ['supervisor'], nav: 'nav_audit' },
];

const main = () => document.getElementById('main');

export function announce(message) {
  const live = document.getElementById('live');
  live.textContent = '';
  // a fresh text node in a new task so the same message is read again
  window.setTimeout(() => { live.textContent = message; }, 50);
}

export function can(role) {
  const order = { analyst: 1, investigator: 2, supervisor: 3 };
  return state.user && order[state.user.role] >= order[role];
}

function parseHash() {
  const raw = window.location.hash.replace(/^#\/?/, '');
  const [path, param] = raw.split('/');
  return { path: path || '', param: param ? decodeURIComponent(param) : null };
}

export function go(path) {
  const target = `#/${path}`;
  if (window.location.hash === target) route();
  else window.location.hash = target;
}

function renderNav(current) {
  const nav = document.getElementById('nav');
  const list = clear(document.getElementById('nav-list'));
  nav.hidden = !state.user;
  if (!state.user) return;
  for (const r of ROUTES) {
    if (!r.nav) continue;
    if (r.roles && !r.roles.includes(state.user.role)) continue;
    const disabled = r.needsCase && !state.trace;
    const a = h('a', {
      href: `#/${r.path}`,
      class: ['nav-link', disabled && 'nav-disabled'],
      'aria-current': current === r.path ? 'page' : null,
      'aria-disabled': disabled ? 'true' : null,
      onclick: disabled ? (e) => { e.preventDefault(); announce(t('nav_needs_case')); }
        : (e) => { if (window.location.hash === `#/${r.path}`) { e.preventDefault(); route(); } },
    }, t(r.nav));
    list.appendChild(h('li', null, a));
  }
}

function renderMasthead() {
  const who = document.getElementById('who');
  const logout = document.getElementById('logout');
  if (state.user) {
    clear(who).append(
      h('span', { class: 'who-name' }, state.user.name),
      h('span', { class: `role-badge role-${state.user.role}` }, t(`role_${state.user.role}`)),
    );
    who.hidden = false;
    logout.hidden = false;
  } else {
    who.hidden = true;
    logout.hidden = true;
  }
  const toggle = document.getElementById('lang-toggle');
  const other = lang() === 'ko' ? 'en' : 'ko';
  toggle.textContent = t('lang_switch');
  toggle.setAttribute('lang', other);
  toggle.setAttribute('aria-label', t('lang_switch_label'));
}

let renderSeq = 0;
async function route() {
  const seq = ++renderSeq;
  const { path, param } = parseHash();
  let r = ROUTES.find((x) => x.path === path);
  if (!state.user && !(r && r.public)) {
    r = ROUTES[0];
  } else if (!r || (state.user && r.public)) {
    go(state.trace ? 'timeline' : 'search');
    return;
  }
  if (r.roles && !r.roles.includes(state.user.role)) {
    state.flash = { kind: 'error', text: t('err_role_page') };
    go('search');
    return;
  }
  if (r.needsCase && !state.trace) {
    go('search');
    return;
  }
  renderMasthead();
  renderNav(r.path);
  const ctx = { state, go, announce, can, param, setUser, rerender: route };
  const container = main();
  container.setAttribute('aria-busy', 'true');
  let view;
  try {
    view = await r.page.render(ctx);
  } catch (e) {
    view = errorView(e);
  }
  if (seq !== renderSeq) return; // a newer navigation won
  clear(container);
  if (state.flash) {
    container.appendChild(h('p', { class: `notice notice-${state.flash.kind}`, role: 'alert' }, state.flash.text));
    state.flash = null;
  }
  container.appendChild(view);
  container.removeAttribute('aria-busy');
  const heading = container.querySelector('h1');
  document.title = `${heading ? heading.textContent : ''} — ${t('app_name')}`;
  // Focus follows the page: the new page's heading is where reading starts.
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: false });
  }
}

function errorView(e) {
  return h('section', null, h('h1', null, t('err_title')), h('p', { class: 'notice notice-error', role: 'alert' }, errorText(e)));
}

function setUser(user, csrf) {
  state.user = user;
  api.setCsrf(csrf);
  if (!user) {
    state.params = null;
    state.trace = null;
    state.caseInfo = null;
    state.revealed = null;
    state.contactsView = null;
  }
}

async function logout() {
  try { await api.post('/api/logout', {}); } catch (e) { /* the session is gone either way */ }
  setUser(null, null);
  state.flash = { kind: 'info', text: t('logged_out') };
  go('login');
}

async function start() {
  applyStatic();
  document.getElementById('lang-toggle').addEventListener('click', () => {
    setLang(lang() === 'ko' ? 'en' : 'ko');
    announce(t('lang_changed'));
  });
  document.getElementById('logout').addEventListener('click', logout);
  document.getElementById('skip-link').addEventListener('click', (e) => {
    e.preventDefault();
    main().focus();
  });
  onLangChange(() => route());
  api.setUnauthorizedHandler(() => {
    if (!state.user) return;
    setUser(null, null);
    state.flash = { kind: 'error', text: t('session_expired') };
    go('login');
  });
  try {
    const me = await api.get('/api/me');
    setUser(me.user, me.csrf);
  } catch (e) {
    setUser(null, null);
  }
  window.addEventListener('hashchange', route);
  route();
}

start();
