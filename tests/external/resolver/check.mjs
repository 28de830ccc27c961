// Checks prodlink's GS1 resolver answers the way GS1's resolver test suite does (the linkset,
// description-file and redirect requirements of docs/spec.md §5): for each PATH, the linkset (by
// `?linkType=linkset` and by `Accept: application/linkset+json`) validates against a JSON
// schema written from GS1's linkset schema constraints (schemas/linkset.schema.json), carries
// the JSON-LD context Link header, has one context object per level with anchors that strip one
// `/AI/value` pair at a time, exactly one title-only defaultLink, only ratified GS1 link types
// (digital-link.js's vocabulary), own-host URIs that digital-link.js accepts, and every listed
// link is what `?linkType=…` (with the link's language) redirects to. The description file
// validates against schemas/description.schema.json. A self-test first shows the schema
// rejects known-bad linksets.
//   node check.mjs BASE_URL PATH…
import { createRequire } from 'node:module';
import fs from 'node:fs';

const require = createRequire(import.meta.url);
const Ajv = require('ajv');
const { DigitalLink, webVoc } = require('digital-link.js');
const { validateUrl } = require('digital-link.js/src/util');

const [base, ...paths] = process.argv.slice(2);
if (!base || !paths.length) {
  console.error('usage: node check.mjs BASE_URL PATH…');
  process.exit(2);
}
const here = new URL('.', import.meta.url);
const load = (f) => JSON.parse(fs.readFileSync(new URL(f, here), 'utf8'));
const ajv = new Ajv({ allErrors: true });
const validLinkset = ajv.compile(load('schemas/linkset.schema.json'));
const validDescription = ajv.compile(load('schemas/description.schema.json'));
const VOC = 'https://ref.gs1.org/voc/';
const ratified = new Set(Object.values(webVoc.linkType));
let failures = 0;
const fail = (msg) => { failures++; console.log(`FAIL ${msg}`); };

// Self-test: the schema must tell good from bad.
{
  const good = { linkset: [{ anchor: 'https://h/01/09506000134352', itemDescription: 'x',
    [`${VOC}defaultLink`]: [{ href: 'https://a.example/', title: 't' }],
    [`${VOC}pip`]: [{ href: 'https://a.example/p', title: 'p', hreflang: ['en', 'pt-BR'], type: 'text/html' }] }] };
  const bad = {
    'CURIE key': { linkset: [{ anchor: 'https://h/01/1', itemDescription: 'x', 'gs1:pip': [{ href: 'https://a/', title: 't' }] }] },
    'no itemDescription': { linkset: [{ anchor: 'https://h/01/1', [`${VOC}pip`]: [{ href: 'https://a/', title: 't' }] }] },
    'no title': { linkset: [{ anchor: 'https://h/01/1', itemDescription: 'x', [`${VOC}pip`]: [{ href: 'https://a/' }] }] },
    'extra link member': { linkset: [{ anchor: 'https://h/01/1', itemDescription: 'x', [`${VOC}pip`]: [{ href: 'https://a/', title: 't', foo: 1 }] }] },
    'hreflang not an array': { linkset: [{ anchor: 'https://h/01/1', itemDescription: 'x', [`${VOC}pip`]: [{ href: 'https://a/', title: 't', hreflang: 'en' }] }] },
    'extra top-level key': { linkset: [], other: 1 },
  };
  if (!validLinkset(good)) fail(`self-test: a good linkset is rejected: ${ajv.errorsText(validLinkset.errors)}`);
  for (const [name, doc] of Object.entries(bad)) {
    if (validLinkset(doc)) fail(`self-test: a linkset with ${name} is accepted`);
  }
}

const strictDl = (uri) => {
  try { return validateUrl(uri) && DigitalLink(uri).isCheckDigitValid(); } catch { return false; }
};

for (const path of paths) {
  const self = base + path;
  for (const [how, init] of [
    ['?linkType=linkset', { url: `${self}?linkType=linkset` }],
    ['Accept: application/linkset+json', { url: self, headers: { accept: 'application/linkset+json' } }],
  ]) {
    const r = await fetch(init.url, { headers: init.headers ?? {}, redirect: 'manual' });
    const label = `${path} (${how})`;
    if (r.status !== 200) { fail(`${label}: HTTP ${r.status}, want 200 (no redirect)`); continue; }
    if (!(r.headers.get('content-type') ?? '').startsWith('application/linkset+json')) fail(`${label}: content-type ${r.headers.get('content-type')}`);
    const ctx = r.headers.get('link') ?? '';
    if (!ctx.includes('rel="http://www.w3.org/ns/json-ld#context"') || !ctx.includes('type="application/ld+json"')) fail(`${label}: no JSON-LD context Link header`);
    const doc = await r.json();
    if (!validLinkset(doc)) { fail(`${label}: schema: ${ajv.errorsText(validLinkset.errors)}`); continue; }
    // One context object per level: the request's URI, then one /AI/value pair less each time.
    let expected = self;
    doc.linkset.forEach((level, i) => {
      if (i > 0) expected = expected.replace(/\/[0-9]{2,4}\/[^/]+$/, '');
      if (level.anchor !== expected) fail(`${label}: anchor ${i} is ${level.anchor}, want ${expected}`);
      if (!strictDl(level.anchor)) fail(`${label}: digital-link.js rejects anchor ${level.anchor}`);
      const defaults = level[`${VOC}defaultLink`] ?? [];
      if (defaults.length !== 1 || Object.keys(defaults[0]).sort().join() !== 'href,title') {
        fail(`${label}: level ${i} needs exactly one title-only defaultLink, has ${JSON.stringify(defaults)}`);
      }
      for (const [key, links] of Object.entries(level)) {
        if (key === 'anchor' || key === 'itemDescription') continue;
        if (!key.startsWith(VOC) || !ratified.has(`gs1:${key.slice(VOC.length)}`)) fail(`${label}: ${key} is not a ratified GS1 link type`);
        for (const l of links) {
          const own = l.href.startsWith(base + '/');
          if (own && !strictDl(l.href.split('?')[0])) fail(`${label}: digital-link.js rejects ${l.href}`);
        }
      }
    });
    if (doc.linkset.at(-1)?.anchor.split('/').length !== base.split('/').length + 2) fail(`${label}: the last level is not the GTIN`);
  }
  // Every typed link of the request's own level is what `?linkType=` (in its language) gives.
  const doc = await (await fetch(`${self}?linkType=linkset`)).json();
  const level = doc.linkset[0];
  for (const [key, links] of Object.entries(level)) {
    if (!key.startsWith(VOC) || key.endsWith('/defaultLinkMulti')) continue;
    const curie = `gs1:${key.slice(VOC.length)}`;
    for (const l of links) {
      const headers = l.hreflang ? { 'accept-language': l.hreflang[0] } : {};
      const r = await fetch(`${self}?linkType=${encodeURIComponent(curie)}`, { headers, redirect: 'manual' });
      const target = r.status === 307 ? r.headers.get('location') : (r.status === 200 ? `${self}?linkType=${curie}` : null);
      const strip = (u) => u && u.replace(/[?&]linkType=[^&]*/, '').replace(/\?$/, '');
      const want = l.href.startsWith(base + '/') ? strip(l.href).split('?')[0] : strip(l.href);
      const got = l.href.startsWith(base + '/') ? (r.status === 200 ? self : strip(target)) : strip(target);
      if (got !== want) fail(`${path}: ?linkType=${curie} (${headers['accept-language'] ?? 'no language'}) → HTTP ${r.status} ${target}, the linkset says ${l.href}`);
      else console.log(`${path}: ?linkType=${curie}${l.hreflang ? ` [${l.hreflang}]` : ''} → ${r.status} ${got}`);
    }
  }
  console.log(`${path}: linkset with ${doc.linkset.length} level(s) validates`);
}

const d = await fetch(`${base}/.well-known/gs1resolver`);
const desc = await d.json();
if (d.status !== 200 || !validDescription(desc)) fail(`description file: HTTP ${d.status} ${ajv.errorsText(validDescription.errors)}`);
else console.log('description file validates');

if (failures) {
  console.error(`resolver check: ${failures} failure(s)`);
  process.exit(1);
}
console.log('resolver check: all linksets and the description file conform');
