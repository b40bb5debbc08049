// dom.js - builds elements without ever parsing HTML: every text a page
// shows (and every value from the server) becomes a text node, so nothing
// the server or a user sent can run as markup or script.

const SVG_NS = 'http://www.w3.org/2000/svg';

function append(el, kids) {
  for (const k of kids) {
    if (k === null || k === undefined || k === false) continue;
    if (Array.isArray(k)) append(el, k);
    else if (k instanceof Node) el.appendChild(k);
    else el.appendChild(document.createTextNode(String(k)));
  }
}

function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
}

// h('tag', {attr: value, onclick: fn}, child...) -> HTMLElement
export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, kids);
  return el;
}

// s('rect', {...}, child...) -> SVGElement
export function s(tag, attrs, ...kids) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, kids);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

let idCounter = 0;
// A unique id for label/for and aria-describedby pairs.
export function uid(prefix) {
  idCounter += 1;
  return `${prefix || 'id'}-${idCounter}`;
}

// A labelled form field: label, control and optional help text, tied
// together with for/id and aria-describedby.
export function field(label, control, help) {
  const id = control.id || uid('f');
  control.id = id;
  let helpEl = null;
  if (help) {
    helpEl = h('p', { class: 'help', id: `${id}-help` }, help);
    control.setAttribute('aria-describedby', helpEl.id);
  }
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, helpEl);
}
