// Opens prodlink's hosted product pages in headless Chromium (Debian's chromium, driven by
// puppeteer-core), saves a full-page screenshot of each at a phone and a desktop width, and
// runs axe-core's WCAG 2.0/2.1 A and AA rules plus best practices: any serious or critical
// violation fails the check. Then nearby availability: with the NEARBY_PATH page open and the
// browser's location set to NEARBY_AT (lat,lng) and allowed, pressing "Find stores near me"
// must reload the page with the nearest stores listed (screenshot and axe again).
//   NEARBY_PATH=/01/… NEARBY_AT=lat,lng node check.mjs BASE_URL SCREENSHOT_DIR PATH…
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const require = createRequire(import.meta.url);
const [base, outDir, ...paths] = process.argv.slice(2);
if (!paths.length) {
  console.error('usage: node check.mjs BASE_URL SCREENSHOT_DIR PATH…');
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const viewports = {
  phone: { width: 390, height: 844, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
  desktop: { width: 1280, height: 800 },
};
let failed = 0;

async function audit(page, p, name) {
  const slug = p.replace(/[^0-9A-Za-z]+/g, '_').replace(/^_|_$/g, '');
  const file = path.join(outDir, `${slug}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  await page.evaluate(axeSource);
      const result = await page.evaluate(() =>
        // eslint-disable-next-line no-undef
        axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } }));
      const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      const minor = result.violations.filter((v) => !serious.includes(v));
      const lang = await page.evaluate(() => document.documentElement.lang);
      const h1 = await page.evaluate(() => document.querySelectorAll('h1').length);
  console.log(`${p} (${name}): lang=${lang}, h1=${h1}, axe passes ${result.passes.length}, ` +
    `serious/critical ${serious.length}, other ${minor.length} → ${file}`);
  for (const v of [...serious, ...minor]) {
    console.log(`  [${v.impact}] ${v.id}: ${v.help} (${v.nodes.length} nodes)`);
  }
  if (serious.length || lang !== 'en' || h1 !== 1) failed++;
}

try {
  for (const p of paths) {
    for (const [name, viewport] of Object.entries(viewports)) {
      const page = await browser.newPage();
      await page.setViewport(viewport);
      const res = await page.goto(base + p, { waitUntil: 'load', timeout: 20000 });
      console.log(`${p} (${name}): HTTP ${res.status()}`);
      await audit(page, p, name);
      await page.close();
    }
  }
  if (process.env.NEARBY_PATH) {
    const [lat, lng] = (process.env.NEARBY_AT ?? '').split(',').map(Number);
    const context = browser.defaultBrowserContext();
    await context.overridePermissions(base, ['geolocation']);
    const page = await browser.newPage();
    await page.setViewport(viewports.phone);
    await page.setGeolocation({ latitude: lat, longitude: lng });
    await page.goto(base + process.env.NEARBY_PATH, { waitUntil: 'load', timeout: 20000 });
    const visible = await page.$eval('#locate', (b) => !b.hidden);
    if (!visible) throw new Error('the location button stays hidden: the script did not run (CSP?)');
    await Promise.all([page.waitForNavigation({ waitUntil: 'load', timeout: 20000 }), page.click('#locate')]);
    const url = new URL(page.url());
    const stores = await page.$$eval('ol.stores li', (li) => li.map((x) => x.textContent.trim()));
    console.log(`nearby: ${url.pathname}${url.search} lists ${stores.length} stores; first: ${stores[0]}`);
    if (url.searchParams.get('lat') !== lat.toFixed(3) || url.searchParams.get('lng') !== lng.toFixed(3)) {
      throw new Error(`the page was reloaded without the rounded position: ${url}`);
    }
    if (!stores.length) throw new Error('no nearby stores listed');
    await audit(page, `${process.env.NEARBY_PATH}-nearby`, 'phone');
    await page.close();
  }
} finally {
  await browser.close();
}
if (failed) {
  console.error(`hosted pages: ${failed} page views failed the accessibility check`);
  process.exit(1);
}
console.log('hosted pages: no serious accessibility violations');
