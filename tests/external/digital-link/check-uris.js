#!/usr/bin/env node
/**
 * Cross-checks the GS1 Digital Link URIs that prodlink's `gs1` crate built during its tests
 * against GS1/EVRYTHNG digital-link.js 1.4.3 (the reference implementation GS1 publishes).
 *
 * The URIs come from the crate's test-only recorder:
 *
 *   PRODLINK_DL_URI_LOG=/tmp/dl.txt cargo test -p gs1 --features record-uris
 *   node tests/external/digital-link/check-uris.js /tmp/dl.txt [--min 50]
 *   node tests/external/digital-link/check-uris.js --self-test
 *
 * A URI passes when it is *strict-valid*, the check recommended in reference §6:
 *
 *   validateUrl(uri) && DigitalLink(uri).isCheckDigitValid()
 *
 * (`validateUrl` runs digital-link.js's DL 1.4 ABNF on the raw string; `isValid()` is not used
 * because it re-encodes the URI first and so hides encoding mistakes.)
 *
 * A few URIs that GS1's URI syntax allows are rejected by digital-link.js's grammar. Those KNOWN
 * divergences are listed in DIVERGENCES below; for them the URI is still checked, as narrowly as
 * the library allows. Everything else that fails is a real rejection.
 *
 * Exit status: 0 all URIs pass; 1 some URI rejected (or the self-test failed); 2 usage error,
 * missing file, or fewer distinct URIs than the minimum (which guards against the recorder
 * silently not recording).
 *
 * The built-in self-test (also run before every check) feeds known-good and known-bad URIs
 * through the same classifier, so a checker that passes everything cannot go unnoticed.
 */

'use strict';

const fs = require('fs');
const { DigitalLink } = require('digital-link.js');
const { validateUrl, validateRule } = require('digital-link.js/src/util');

const DEFAULT_MIN = 50;

/**
 * Known digital-link.js 1.4.3 disagreements with GS1 Digital Link URI Syntax (reference §6).
 * Each entry says why, and what is checked instead.
 */
const DIVERGENCES = {
  // DL URI Syntax 4.11 allows a custom stem with its own path segments (prodlink's site_url may
  // be https://example.com/stem). digital-link.js's ABNF comments the segments out of
  // `customURIstem = scheme "://" hostname ; *( "/" segment )`, so validateUrl fails for every
  // such URI. Instead: the URI with the stem path removed must be strict-valid.
  'stem-path': 'custom stem path (digital-link.js grammar has no stem segments)',
  // GS1's minimal encoding turns `"` into %22 (the syntax engine does the same). The 1.4 ABNF
  // lists `"` as a raw XCHAR and has no %22, so an encoded double quote fails. Instead: the URI
  // with %22 replaced by a raw `"` must be strict-valid (everything else still checked).
  'percent-22': 'double quote encoded as %22 (digital-link.js grammar expects a raw ")',
  // `/01/{gtin}/235/{tpx}` is valid (URI Syntax 4.9; syntax dictionary `dlpkey=22,10,21|235`),
  // but the grammar's ordered choice `gs1path = gtin-path / … / upui-path` matches gtin-path
  // first and never reaches upui-path, so validateUrl fails. Instead: digital-link.js must parse
  // it with a valid check digit, and the grammar's own rules must accept each piece:
  // `customURIstem` for scheme and host, `upui-path` for the path, `queryStringComp` for the
  // query (so 235 combined with 22/10/21, a bad TPX value or a bad attribute still fail).
  'tpx-235': '/235/ qualifier (ordered-choice false negative in the grammar)',
};

/** Splits a URI into origin (scheme://host), stem path, DL path (from /01/) and query. */
function split(uri) {
  const m = /^(https?:\/\/[^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/.exec(uri);
  if (!m) return null;
  const [, origin, path, query = ''] = m;
  const segments = path.split('/').slice(1);
  // The primary key is found from the right in /AI/value pairs, as digital-link.js's
  // getIdentifierCodeIndex and prodlink's parser both do.
  for (let i = segments.length - 2; i >= 0; i -= 2) {
    if (segments[i] === '01') {
      const stemPath = i > 0 ? `/${segments.slice(0, i).join('/')}` : '';
      return { origin, stemPath, dlPath: `/${segments.slice(i).join('/')}`, query };
    }
  }
  return null;
}

/**
 * Classifies one URI: { status: 'strict' | 'allowed' | 'rejected', kinds: [...], reason }.
 */
function classify(uri) {
  let dl;
  try {
    dl = DigitalLink(uri);
  } catch (e) {
    return { status: 'rejected', kinds: [], reason: `digital-link.js cannot parse it: ${e.message}` };
  }
  if (!dl.isCheckDigitValid()) {
    return { status: 'rejected', kinds: [], reason: 'check digit is not valid' };
  }
  if (validateUrl(uri)) {
    return { status: 'strict', kinds: [] };
  }

  const parts = split(uri);
  if (!parts) {
    return { status: 'rejected', kinds: [], reason: 'grammar rejects it (no /01/ path found)' };
  }
  const kinds = [];
  let { dlPath, query } = parts;
  if (parts.stemPath) kinds.push('stem-path');
  if (/%22/.test(dlPath + query)) {
    kinds.push('percent-22');
    dlPath = dlPath.replace(/%22/g, '"');
    query = query.replace(/%22/g, '"');
  }
  if (kinds.length && validateUrl(parts.origin + dlPath + query)) {
    return { status: 'allowed', kinds };
  }
  if (/^\/01\/[^/]*\/235\//.test(dlPath)) {
    const ok =
      validateRule('customURIstem', parts.origin) &&
      validateRule('upui-path', dlPath) &&
      (query === '' || validateRule('queryStringComp', query));
    if (ok) return { status: 'allowed', kinds: [...kinds, 'tpx-235'] };
  }
  return { status: 'rejected', kinds, reason: 'digital-link.js grammar (validateUrl) rejects it' };
}

/** Known-good and known-bad URIs: the checker must tell them apart. */
const SELF_TEST = [
  ['https://id.gs1.org/01/09506000134352/10/ABC%2F1/21/S1?17=261231', 'strict'],
  ['http://localhost:8080/01/09506000134352?3103=000195&7003=2612312359', 'strict'],
  ['https://example.com/stem/01/09506000134352/21/S1', 'allowed'],
  ['https://example.com/01/09506000134352/10/A%22B', 'allowed'],
  ['https://id.gs1.org/01/09506000134352/235/XYZ?10=ABC', 'allowed'],
  ['https://example.com/a/b/01/09506000134352/235/X%22Y', 'allowed'],
  // Check digit 3 instead of 2 (reference §1 invalid vector).
  ['https://id.gs1.org/01/09506000134353', 'rejected'],
  ['https://example.com/stem/01/09506000134353/21/S1', 'rejected'],
  ['https://id.gs1.org/01/09506000134353/235/XYZ', 'rejected'],
  // Grammar violations, plain and hidden behind each allowed divergence.
  ['https://id.gs1.org/01/09506000134352/21/S1/10/ABC', 'rejected'],
  ['https://id.gs1.org/01/9506000134352', 'rejected'],
  ['https://id.gs1.org/01/09506000134352/10/ABCDEFGHIJKLMNOPQRSTU', 'rejected'],
  ['https://id.gs1.org/01/09506000134352/10/A~B', 'rejected'],
  ['https://id.gs1.org/01/09506000134352?17=2612', 'rejected'],
  ['https://id.gs1.org/01/09506000134352?21=S1', 'rejected'],
  ['https://example.com/stem/01/09506000134352/21/S1/10/ABC', 'rejected'],
  ['https://example.com/01/09506000134352/10/A%22B/22/V', 'rejected'],
  ['https://id.gs1.org/01/09506000134352/22/V/235/XYZ', 'rejected'],
  ['https://id.gs1.org/01/09506000134352/235/X~Z', 'rejected'],
  ['https://id.gs1.org/01/09506000134352/235/XYZ?17=2612', 'rejected'],
  ['nonsense', 'rejected'],
];

function selfTest() {
  const failures = SELF_TEST.filter(([uri, want]) => classify(uri).status !== want).map(
    ([uri, want]) => `  ${uri}: expected ${want}, got ${JSON.stringify(classify(uri))}`,
  );
  if (failures.length) {
    console.error(`check-uris self-test FAILED (${failures.length}/${SELF_TEST.length}):`);
    console.error(failures.join('\n'));
    return false;
  }
  console.log(`check-uris self-test: ${SELF_TEST.length} known URIs classified as expected`);
  return true;
}

function usage(message) {
  if (message) console.error(`error: ${message}`);
  console.error('usage: node check-uris.js FILE [--min N]   (default N = 50)');
  console.error('       node check-uris.js --self-test');
  process.exit(2);
}

function main(argv) {
  let file = null;
  let min = DEFAULT_MIN;
  let selfTestOnly = false;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--self-test') selfTestOnly = true;
    else if (arg === '--min' || arg.startsWith('--min=')) {
      const value = arg === '--min' ? argv[(i += 1)] : arg.slice('--min='.length);
      if (!/^\d+$/.test(value || '')) usage(`--min needs a whole number, got ${value}`);
      min = Number(value);
    } else if (arg === '-h' || arg === '--help') usage();
    else if (arg.startsWith('-')) usage(`unknown option ${arg}`);
    else if (file === null) file = arg;
    else usage(`unexpected argument ${arg}`);
  }

  if (!selfTest()) process.exit(1);
  if (selfTestOnly) return;
  if (file === null) usage('no URI file given');
  if (!fs.existsSync(file)) {
    console.error(`error: ${file} does not exist: run the tests with --features record-uris and ` +
      'PRODLINK_DL_URI_LOG set to that path');
    process.exit(2);
  }

  const lines = fs.readFileSync(file, 'utf8').split('\n').map((l) => l.replace(/\r$/, ''));
  const uris = [...new Set(lines.filter((l) => l !== ''))];
  if (uris.length < min) {
    console.error(`error: ${file} has ${uris.length} distinct URIs, fewer than the minimum ` +
      `${min}; did the recorder run (cargo test -p gs1 --features record-uris with ` +
      'PRODLINK_DL_URI_LOG set)?');
    process.exit(2);
  }

  const perKind = Object.fromEntries(Object.keys(DIVERGENCES).map((k) => [k, 0]));
  let strict = 0;
  let allowed = 0;
  const rejected = [];
  for (const uri of uris) {
    const r = classify(uri);
    if (r.status === 'strict') strict += 1;
    else if (r.status === 'allowed') {
      allowed += 1;
      r.kinds.forEach((k) => { perKind[k] += 1; });
    } else rejected.push([uri, r.reason]);
  }

  const kinds = Object.entries(perKind).map(([k, n]) => `${k}: ${n}`).join(', ');
  console.log(`checked ${uris.length} distinct URIs (${lines.filter((l) => l).length} recorded)`);
  console.log(`  strict-valid:         ${strict}`);
  console.log(`  allowed divergences:  ${allowed} (${kinds})`);
  console.log(`  rejected:             ${rejected.length}`);
  if (rejected.length) {
    for (const [uri, reason] of rejected.slice(0, 20)) console.error(`  REJECTED ${uri}\n    ${reason}`);
    if (rejected.length > 20) console.error(`  … and ${rejected.length - 20} more`);
    process.exit(1);
  }
}

main(process.argv.slice(2));
