// admin-panel.mjs — browser test of the fedge admin panel (docs/admin.md), run by
// tests/e2e/070-admin-panel.sh: Debian's /usr/bin/chromium driven by
// playwright-core (never a downloaded browser). Prints TAP-like lines
// ("ok N - ...", "not ok N - ...") and exits 1 when a check failed.
//
// Environment: ADMIN_URL (http://127.0.0.1:PORT/), ADMIN_USER, ADMIN_PASS,
// SHOTS (folder for screenshots), PROFILE (a fresh, empty folder for the
// browser profile), STATUS_PARTNER (optional: a partner domain whose
// requests the Status page must show, with STATUS_MIN_REQUESTS; STATUS_ERROR:
// a text the Recent errors table must show).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const URL = process.env.ADMIN_URL;
const USER = process.env.ADMIN_USER;
const PASS = process.env.ADMIN_PASS;
const SHOTS = process.env.SHOTS;
const PROFILE = process.env.PROFILE;
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
async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, name + '.png'), fullPage: true });
}

const ctx = await chromium.launchPersistentContext(PROFILE, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1280, height: 800 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = ctx.pages()[0] || await ctx.newPage();
page.setDefaultTimeout(8000);
const dialogs = [];
page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));

// rows of the page's tables (not of a chart's legend, also a table)
const rowOf = (text) => page.locator('#main table:not(.u-legend) tbody tr', { hasText: text });
const dlg = page.locator('#dialog');

if (process.env.MODE === 'status') {
  // Only the live-status part (070 runs it against `fedge serve`).
  try {
    await check('log in to the admin server of fedge serve', async () => {
      await page.goto(URL);
      await page.getByLabel('Name').fill(USER);
      await page.getByLabel('Password').fill(PASS);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('#app-view').waitFor({ state: 'visible' });
    });
    await check(`the Status page counts the requests of ${process.env.STATUS_PARTNER}`, async () => {
      const min = Number(process.env.STATUS_MIN_REQUESTS || 1);
      await page.getByRole('link', { name: 'Status' }).click();
      await page.getByRole('heading', { name: 'Partners' }).waitFor();
      const row = rowOf(process.env.STATUS_PARTNER).first();
      await row.waitFor();
      const req = Number(await row.locator('td').nth(2).textContent());
      assert(req >= min, `requests ${req} < ${min}`);
      await shot(page, '09-status-traffic');
    });
    await check('the Status page draws the last hour per partner (uPlot canvas, partner in the legend)', async () => {
      const fig = page.locator('figure[data-chart="requests"]');
      await fig.locator('canvas').waitFor();
      const legend = await fig.locator('.u-legend').textContent();
      assert(legend.includes(process.env.STATUS_PARTNER), `legend: ${legend}`);
      await page.locator('figure[data-chart="rejections"] canvas').waitFor();
      assert(pageErrors.length === 0, 'page errors: ' + pageErrors.join('; '));
    });
    await check('at phone width (390 px) the charts fit: the page does not scroll sideways', async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.reload();
      await page.locator('figure[data-chart="requests"] canvas').waitFor();
      const w = await page.evaluate(() => document.documentElement.scrollWidth);
      assert(w <= 390, `page is ${w} px wide`);
      await shot(page, '10-status-phone');
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.reload();
      await page.locator('figure[data-chart="requests"] canvas').waitFor();
    });
    await check('the Counters table shows the real counters', async () => {
      const row = rowOf('fedge_sip_requests_forwarded_total').first();
      await row.waitFor();
      const v = Number(await row.locator('td').nth(1).textContent());
      assert(v >= Number(process.env.STATUS_MIN_REQUESTS || 1), `forwarded ${v}`);
    });
    if (process.env.STATUS_ERROR) {
      await check(`Recent errors shows "${process.env.STATUS_ERROR}"`, async () => {
        await rowOf(process.env.STATUS_ERROR).first().waitFor();
      });
    }
  } finally {
    await ctx.close();
  }
  console.log(`# browser: ${n - failed} of ${n} checks passed`);
  process.exit(failed ? 1 : 0);
}

try {
  await check('the panel asks for a login', async () => {
    await page.goto(URL);
    await page.locator('#login-view').waitFor({ state: 'visible' });
    await shot(page, '00-login');
  });

  await check('a wrong password is refused with a message', async () => {
    await page.getByLabel('Name').fill(USER);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#login-error', { hasText: 'Wrong name or password' }).waitFor();
  });

  await check('log in with the keyboard only', async () => {
    await page.getByLabel('Name').focus();
    await page.keyboard.press('Control+A');
    await page.keyboard.type(USER);
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASS);
    await page.keyboard.press('Enter');
    await page.locator('#app-view').waitFor({ state: 'visible' });
    await page.getByRole('heading', { name: 'SIP Federated Domains' }).waitFor();
    assert((await page.locator('#who').textContent()) === USER, 'account name shown');
  });

  await check('add an allowed partner server (direct federation)', async () => {
    await page.getByRole('button', { name: 'New' }).click();
    await dlg.waitFor({ state: 'visible' });
    await dlg.getByLabel('Domain (FQDN)').fill('fabrikam.test');
    await dlg.getByLabel('Access', { exact: true }).selectOption('allowed');
    await dlg.getByLabel('Access Edge service (FQDN)').fill('edge.fabrikam.test');
    await dlg.getByLabel('Comment').fill('Fabrikam, contract 42');
    await shot(page, '01-domain-dialog');
    await dlg.getByRole('button', { name: 'Create' }).click();
    await dlg.waitFor({ state: 'hidden' });
    const row = rowOf('fabrikam.test');
    await row.waitFor();
    const t = await row.textContent();
    assert(t.includes('Allowed') && t.includes('Partner server') && t.includes('edge.fabrikam.test'), 'row: ' + t);
  });

  await check('a bad FQDN shows its error next to the field as you type', async () => {
    await page.getByRole('button', { name: 'New' }).click();
    const input = dlg.getByLabel('Domain (FQDN)');
    await input.fill('bad..domain');
    const err = dlg.locator('#f-domain-err');
    await err.waitFor();
    assert(/empty/.test(await err.textContent()), 'message: ' + await err.textContent());
    assert((await input.getAttribute('aria-invalid')) === 'true', 'aria-invalid set');
    await input.fill('-bad.test');
    assert(/starting or ending/.test(await err.textContent()), 'hyphen message');
    await shot(page, '02-validation');
    await dlg.getByRole('button', { name: 'Create' }).click();
    assert(await dlg.isVisible(), 'an invalid form is not sent');
    await input.fill('good.test');
    assert((await err.textContent()) === '', 'the error goes away once valid');
    await dlg.getByRole('button', { name: 'Cancel' }).click();
    await dlg.waitFor({ state: 'hidden' });
  });

  await check('the server\'s refusal (allowed vs blocked: 409) shows next to the field', async () => {
    await page.getByRole('button', { name: 'New' }).click();
    await dlg.getByLabel('Domain (FQDN)').fill('fabrikam.test');
    await dlg.getByLabel('Access', { exact: true }).selectOption('blocked');
    await dlg.getByRole('button', { name: 'Create' }).click();
    await dlg.locator('#f-domain-err', { hasText: 'allowed' }).waitFor();
    await dlg.getByRole('button', { name: 'Cancel' }).click();
  });

  const evil = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'; DROP TABLE blocked_domain;-- "&amp;`;
  await check('block a domain (comment with HTML and SQL metacharacters)', async () => {
    await page.getByRole('button', { name: 'New' }).click();
    await dlg.getByLabel('Domain (FQDN)').fill('evil.test');
    await dlg.getByLabel('Access', { exact: true }).selectOption('blocked');
    await dlg.getByLabel('Comment').fill(evil);
    await dlg.getByRole('button', { name: 'Create' }).click();
    await dlg.waitFor({ state: 'hidden' });
    await rowOf('evil.test').waitFor();
    assert((await rowOf('evil.test').textContent()).includes('Blocked'), 'blocked badge');
  });

  await check('metacharacters are shown verbatim and stay inert', async () => {
    const cell = rowOf('evil.test').locator('td.wrap');
    assert((await cell.textContent()) === evil, 'comment text: ' + await cell.textContent());
    assert((await page.locator('#main img').count()) === 0, 'no img element created');
    assert((await page.locator('#main script').count()) === 0, 'no script element created');
    assert(await page.evaluate(() => window.__pwned === undefined), 'no script ran');
    assert(dialogs.length === 0, 'no alert dialogs');
    await shot(page, '03-domains');
  });

  await check('search filters the list (on the server, after a pause in typing)', async () => {
    await page.getByLabel('Search SIP Federated Domains').fill('evil');
    await rowOf('fabrikam.test').waitFor({ state: 'detached' });
    assert((await page.locator('#main table tbody tr').count()) === 1, 'one row');
    await page.getByLabel('Search SIP Federated Domains').fill('');
    await rowOf('fabrikam.test').waitFor();
    assert((await page.locator('#main table tbody tr').count()) === 2, 'two rows');
  });

  await check('edit an allowed domain', async () => {
    await page.getByRole('button', { name: 'Edit fabrikam.test' }).click();
    const d = dlg.getByLabel('Domain (FQDN)');
    assert(await d.evaluate((e) => e.readOnly), 'domain is read-only when editing');
    await dlg.getByLabel('Mark for monitoring').check();
    await dlg.getByRole('button', { name: 'Save' }).click();
    await dlg.waitFor({ state: 'hidden' });
    await page.waitForFunction(() => [...document.querySelectorAll('#main tbody tr')].some((r) => r.textContent.includes('fabrikam.test') && r.textContent.includes('Yes')));
  });

  await check('add a provider', async () => {
    await page.getByRole('link', { name: 'SIP Federated Providers' }).click();
    await page.getByRole('heading', { name: 'SIP Federated Providers' }).waitFor();
    await page.getByRole('button', { name: 'New' }).click();
    await dlg.getByLabel('Provider name').fill('hosted');
    await dlg.getByLabel('Provider type').selectOption('hosting');
    await dlg.getByLabel('Access Edge service (FQDN)').fill('sip.hosted.test');
    await dlg.getByLabel('Domains served').fill('tenant1.test, tenant2.test');
    await dlg.getByRole('button', { name: 'Create' }).click();
    await dlg.waitFor({ state: 'hidden' });
    await rowOf('sip.hosted.test').waitFor();
    await shot(page, '04-providers');
  });

  await check('add an XMPP partner (dialback only, its server by address), then block another', async () => {
    await page.getByRole('link', { name: 'XMPP Federated Partners' }).click();
    await page.getByRole('heading', { name: 'XMPP Federated Partners' }).waitFor();
    await page.getByRole('button', { name: 'New' }).click();
    await dlg.getByLabel('XMPP domain (FQDN)').fill('jabber.test');
    await dlg.getByLabel('SASL EXTERNAL (certificates)').uncheck();
    await dlg.getByLabel('XMPP server (HOST[:PORT])').fill('xmpp.jabber.test:99999');
    await dlg.getByText('The port must be 1 to 65535.').waitFor();
    await dlg.getByLabel('XMPP server (HOST[:PORT])').fill('xmpp.jabber.test:5270');
    await dlg.getByRole('button', { name: 'Create' }).click();
    await dlg.waitFor({ state: 'hidden' });
    await page.waitForFunction(() => [...document.querySelectorAll('#main tbody tr')].some((r) =>
      r.textContent.includes('jabber.test') && r.textContent.includes('xmpp.jabber.test:5270')));
    await page.getByRole('button', { name: 'New' }).click();
    await dlg.getByLabel('XMPP domain (FQDN)').fill('spam.test');
    await dlg.getByLabel('Access').selectOption('blocked');
    await dlg.getByRole('button', { name: 'Create' }).click();
    await dlg.waitFor({ state: 'hidden' });
    await rowOf('spam.test').getByText('Blocked').waitFor();
    await shot(page, '04b-xmpp');
  });

  await check('edit the global external access policy', async () => {
    await page.getByRole('link', { name: 'External Access Policy' }).click();
    await page.getByRole('heading', { name: 'External Access Policy' }).waitFor();
    await page.getByRole('button', { name: 'Edit global' }).click();
    await dlg.getByLabel('Enable communications with public users').check();
    await dlg.getByRole('button', { name: 'Save' }).click();
    await dlg.waitFor({ state: 'hidden' });
    await page.waitForFunction(() => {
      const r = [...document.querySelectorAll('#main tbody tr')].find((x) => x.cells[0].textContent === 'global');
      return r && r.cells[3].textContent === 'On';
    });
    await shot(page, '05-policy');
  });

  await check('a policy without A/V calls: the switch is saved and shown', async () => {
    await page.getByRole('button', { name: 'Edit global' }).click();
    const av = dlg.getByLabel('Enable audio and video calls with federated and public users');
    if (!(await av.isChecked())) throw new Error('A/V should start on for the global policy');
    await av.uncheck();
    await dlg.getByRole('button', { name: 'Save' }).click();
    await dlg.waitFor({ state: 'hidden' });
    await page.waitForFunction(() => {
      const r = [...document.querySelectorAll('#main tbody tr')].find((x) => x.cells[0].textContent === 'global');
      return r && r.cells[6].textContent === 'Off';
    });
    await page.getByRole('button', { name: 'Edit global' }).click();
    await dlg.getByLabel('Enable audio and video calls with federated and public users').check();
    await dlg.getByRole('button', { name: 'Save' }).click();
    await dlg.waitFor({ state: 'hidden' });
    await page.waitForFunction(() => {
      const r = [...document.querySelectorAll('#main tbody tr')].find((x) => x.cells[0].textContent === 'global');
      return r && r.cells[6].textContent === 'On';
    });
  });

  await check('edge configuration: a bad default route is refused next to its field, a good change is saved', async () => {
    await page.getByRole('link', { name: 'Access Edge Configuration' }).click();
    await page.getByRole('heading', { name: 'Access Edge Configuration' }).waitFor();
    await page.getByLabel('Default route (HOST[:PORT])').fill('bad..route:99999');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('#e-default-route-err').filter({ hasText: /./ }).waitFor();
    await page.getByLabel('Default route (HOST[:PORT])').fill('');
    await page.getByLabel('Enable partner domain discovery').check();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('#toast', { hasText: 'saved' }).waitFor();
    await shot(page, '06-edge');
  });

  await check('status page', async () => {
    await page.getByRole('link', { name: 'Status' }).click();
    await page.getByRole('heading', { name: 'Status', exact: true }).waitFor();
    const blocked = page.locator('.stat', { hasText: 'blocked domains' }).locator('.n');
    assert((await blocked.textContent()) === '1', 'one blocked domain counted');
    await shot(page, '07-status');
  });

  if (process.env.LOCKED_USER) {
    await check('status page lists a locked-out remote user; unlock asks, then removes it', async () => {
      const u = process.env.LOCKED_USER;
      await page.getByRole('heading', { name: 'Remote users locked out' }).waitFor();
      await rowOf(u).waitFor();
      await page.getByRole('button', { name: 'Unlock ' + u }).click();
      await dlg.getByRole('heading', { name: 'Delete the lock-out of ' + u + '?' }).waitFor();
      await dlg.getByRole('button', { name: 'Delete' }).click();
      await page.locator('#toast', { hasText: 'Unlocked ' + u }).waitFor();
      await rowOf(u).waitFor({ state: 'detached' });
    });
  }

  await check('audit page lists the changes with the account name', async () => {
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('heading', { name: 'Audit' }).waitFor();
    const row = rowOf('domain.allow').filter({ hasText: 'fabrikam.test' }).first();
    assert((await row.textContent()).includes('admin:' + USER), 'actor admin:' + USER);
    await shot(page, '08-audit');
  });

  await check('delete asks for confirmation; cancel keeps, confirm removes', async () => {
    await page.getByRole('link', { name: 'SIP Federated Domains' }).click();
    await rowOf('evil.test').waitFor();
    await page.getByRole('button', { name: 'Delete evil.test' }).click();
    await dlg.getByRole('heading', { name: 'Delete evil.test?' }).waitFor();
    await dlg.getByRole('button', { name: 'Cancel' }).click();
    assert((await rowOf('evil.test').count()) === 1, 'still there after cancel');
    await page.getByRole('button', { name: 'Delete evil.test' }).click();
    await dlg.getByRole('button', { name: 'Delete' }).click();
    await rowOf('evil.test').waitFor({ state: 'detached' });
  });

  await check('log out: the pages and the API are refused', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#login-view').waitFor({ state: 'visible' });
    await page.goto(URL + '#/audit');
    await page.locator('#login-view').waitFor({ state: 'visible' });
    assert(!(await page.locator('#app-view').isVisible()), 'app hidden');
    const st = await page.evaluate(async () => (await fetch('/api/audit')).status);
    assert(st === 401, 'GET /api/audit after logout: ' + st);
  });

  await check('no script errors in the page', async () => {
    assert(pageErrors.length === 0, pageErrors.join('; '));
  });
} finally {
  await ctx.close();
}
console.log(`# browser: ${n - failed} of ${n} checks passed`);
process.exit(failed ? 1 : 0);
