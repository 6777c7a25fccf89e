// media-status.mjs — browser test of the Status page's calls through the
// media relay (docs/admin.md, GET /api/media), run by
// tests/e2e/123-media-panel.sh: Debian's /usr/bin/chromium driven by
// playwright-core. Prints TAP-like lines and exits 1 when a check failed.
//
// Environment: ADMIN_URL, ADMIN_USER, ADMIN_PASS, SHOTS (folder for the
// screenshot), PROFILE (a fresh, empty folder), CALLS (how many calls the
// page must list), LIVE and DEAD (host:port of the relay that answers and
// of the one that does not).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const { ADMIN_URL, ADMIN_USER, ADMIN_PASS, SHOTS, PROFILE, LIVE, DEAD } = process.env;
const CALLS = Number(process.env.CALLS);
fs.mkdirSync(SHOTS, { recursive: true });

let n = 0, failed = 0;
async function check(desc, fn) {
  n++;
  try {
    await fn();
    console.log(`ok ${n} - ${desc}`);
  } catch (e) {
    failed++;
    console.log(`not ok ${n} - ${desc}`);
    console.log('    # ' + String(e && e.message || e).split('\n').slice(0, 6).join('\n    # '));
  }
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }

const ctx = await chromium.launchPersistentContext(PROFILE, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1280, height: 800 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = ctx.pages()[0] || await ctx.newPage();
page.setDefaultTimeout(8000);
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));
// The table that follows a heading.
const tableAfter = (name) => page.getByRole('heading', { name, exact: true }).locator('xpath=following-sibling::table[1]');
try {
  await check('sign in', async () => {
    await page.goto(ADMIN_URL);
    await page.getByLabel('Name').fill(ADMIN_USER);
    await page.getByLabel('Password').fill(ADMIN_PASS);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#app-view').waitFor({ state: 'visible' });
  });
  await check('the Status page has the section of calls through the media relay', async () => {
    await page.getByRole('link', { name: 'Status' }).click();
    await page.getByRole('heading', { name: 'Calls through the media relay' }).waitFor();
    const summary = await page.locator('#media-summary').innerText();
    assert(summary.startsWith(CALLS + ' relayed now'), 'summary: ' + summary);
  });
  await check(`it lists the ${CALLS} calls: active, inside to partner, on ${LIVE}`, async () => {
    const rows = tableAfter('Active calls').locator('tbody tr');
    assert(await rows.count() === CALLS, `${await rows.count()} rows`);
    for (let i = 0; i < CALLS; i++) {
      const t = await rows.nth(i).innerText();
      assert(t.includes('active') && t.includes('inside → partner') && t.includes(LIVE), 'row: ' + t);
      assert(!t.includes('@'), 'a Call-ID shown whole: ' + t);
    }
  });
  await check('relay health: the live relay answers, the dead one does not', async () => {
    const rows = tableAfter('Relay health').locator('tbody tr');
    assert(await rows.count() === 2, `${await rows.count()} relays`);
    const live = await rows.filter({ hasText: LIVE }).innerText();
    const dead = await rows.filter({ hasText: DEAD }).innerText();
    assert(/Answers/.test(live) && / ms/.test(live), 'live: ' + live);
    assert(/Not answering/.test(dead) && /refused/.test(dead) && /ping at /.test(dead), 'dead: ' + dead);
    await page.screenshot({ path: path.join(SHOTS, 'status-media.png'), fullPage: true });
  });
  await check('no script error on the page', async () => {
    assert(pageErrors.length === 0, pageErrors.join('; '));
  });
} finally {
  await ctx.close();
}
process.exit(failed ? 1 : 0);
