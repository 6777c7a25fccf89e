// pool-page.mjs — browser test of the panel's Pool page (docs/pools.md), run
// by tests/e2e/111-pool.sh against one member of a pool: Debian's
// /usr/bin/chromium driven by playwright-core. Prints TAP-like lines and
// exits 1 when a check failed.
//
// Environment: ADMIN_URL (the member's panel), ADMIN_USER, ADMIN_PASS,
// SHOTS (folder for the screenshot), PROFILE (a fresh, empty folder),
// MEMBERS (how many live members the page must list), THIS (the fqdn of
// the member serving the page).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const { ADMIN_URL, ADMIN_USER, ADMIN_PASS, SHOTS, PROFILE, THIS } = process.env;
const MEMBERS = Number(process.env.MEMBERS);
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
try {
  await check('sign in on the member', async () => {
    await page.goto(ADMIN_URL);
    await page.getByLabel('Name').fill(ADMIN_USER);
    await page.getByLabel('Password').fill(ADMIN_PASS);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#app-view').waitFor({ state: 'visible' });
  });
  await check(`the Pool page lists ${MEMBERS} live members, this one marked`, async () => {
    await page.getByRole('link', { name: 'Pool' }).click();
    await page.getByRole('heading', { name: 'Pool', exact: true }).waitFor();
    const rows = page.locator('#main table tbody tr');
    await page.waitForFunction((want) =>
      document.querySelectorAll('#main table tbody tr .badge.ok').length >= 2 * want, MEMBERS);
    assert(await rows.count() === MEMBERS, `${await rows.count()} rows`);
    const mine = rows.filter({ hasText: THIS + ' (this member)' });
    assert(await mine.count() === 1, 'this member is not marked');
    const text = await mine.innerText();
    assert(/Live/.test(text) && /Yes/.test(text), 'this member: ' + text);
    await page.screenshot({ path: path.join(SHOTS, 'pool.png'), fullPage: true });
  });
  await check('no script error on the page', async () => {
    assert(pageErrors.length === 0, pageErrors.join('; '));
  });
} finally {
  await ctx.close();
}
process.exit(failed ? 1 : 0);
