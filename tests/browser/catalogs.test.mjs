// catalogs.test.mjs - static checks of the console's pages and the
// gateway's staff screen, without a browser: the Korean and English catalogs have the same keys, every key a
// page asks for by name is in them, no placeholder is lost in translation,
// and the pages hold nothing the daemon's Content-Security-Policy forbids
// (inline script or style, a script or style from another host) nor
// anything that parses server text as HTML.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let checks = 0;
const failures = [];
const check = (cond, what) => { checks += 1; if (!cond) failures.push(what); };

async function checkWeb(web) {
  const ko = (await import(path.join(web, 'js/lang/ko.js'))).default;
  const en = (await import(path.join(web, 'js/lang/en.js'))).default;

  for (const k of Object.keys(ko)) check(k in en, `key ${k} is in ko.js, not in en.js`);
  for (const k of Object.keys(en)) check(k in ko, `key ${k} is in en.js, not in ko.js`);
  const holes = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',');
  for (const k of Object.keys(ko)) if (k in en) check(holes(ko[k]) === holes(en[k]), `key ${k}: placeholders differ between ko and en`);

  function walk(dir) {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(path.join(dir, d.name)) : [path.join(dir, d.name)]));
  }
  const files = walk(web);
  for (const f of files.filter((x) => x.endsWith('.js') && !x.includes(`${path.sep}lang${path.sep}`))) {
    const src = fs.readFileSync(f, 'utf8');
    for (const m of src.matchAll(/\bt\('([a-z0-9_-]+)'/g)) check(m[1] in ko, `${path.relative(web, f)}: t('${m[1]}') is not in the catalogs`);
    check(!/\.innerHTML\s*=|insertAdjacentHTML|outerHTML\s*=|document\.write/.test(src), `${path.relative(web, f)}: parses text as HTML`);
    check(!/\beval\(|new Function\(/.test(src), `${path.relative(web, f)}: eval (forbidden by the CSP)`);
    check(!/https?:\/\//.test(src.replace(/http:\/\/www\.w3\.org\/2000\/svg/g, '')), `${path.relative(web, f)}: an address on another host`);
  }
  for (const f of files.filter((x) => x.endsWith('.html'))) {
    const src = fs.readFileSync(f, 'utf8');
    check(!/<script(?![^>]*\bsrc=)[^>]*>/.test(src), `${path.relative(web, f)}: an inline script`);
    check(!/<style/.test(src) && !/\sstyle=/.test(src), `${path.relative(web, f)}: an inline style`);
    check(!/\son[a-z]+=/.test(src), `${path.relative(web, f)}: an inline event handler`);
    check(!/(src|href)="(https?:)?\/\//.test(src), `${path.relative(web, f)}: a file from another host`);
    for (const m of src.matchAll(/data-i18n(?:-label)?="([a-z_]+)"/g)) check(m[1] in ko, `${path.relative(web, f)}: data-i18n ${m[1]} is not in the catalogs`);
  }
  for (const f of files.filter((x) => x.endsWith('.css'))) {
    const src = fs.readFileSync(f, 'utf8');
    check(!/url\((['"]?)(https?:)?\/\//.test(src) && !/@import/.test(src), `${path.relative(web, f)}: a style from another host`);
  }
}

const here = path.dirname(fileURLToPath(import.meta.url));
await checkWeb(path.resolve(here, '../../cloud/console/web'));
await checkWeb(path.resolve(here, '../../gateway/web'));
if (failures.length) {
  console.error(failures.map((f) => `FAIL: ${f}`).join('\n'));
  process.exit(1);
}
console.log(`PASS: catalogs.test.mjs (${checks} checks)`);
