'use strict';
// Headless-browser test of the L&D dashboard served at /admin.
//
//   DASHBOARD_URL=http://127.0.0.1:PORT ADMIN_TOKEN=... SCREENSHOT=out.png \
//   FILTER_COURSE=<course id> scripts/browser.sh run tests/browser/dashboard.cjs
//
// Drives Debian's chromium (CHROMIUM, default /usr/bin/chromium) through
// playwright-core: signs in with the admin token, checks that every
// [data-metric] number on the page matches GET /v1/admin/metrics, that the
// three SVG charts and the at-risk table are rendered, that filtering by
// FILTER_COURSE re-renders the numbers of GET /v1/admin/metrics?course=... (and, with
// FILTER_LEARNERS, that a cohort within it re-renders those of &learners=...)
// (and that these differ from the unfiltered ones), then writes a full-page
// screenshot. Prints one JSON line on success; exits 1 with the reasons on
// failure. CommonJS on purpose: NODE_PATH (set by browser.sh) only applies to
// require().

const fs = require('fs');
const os = require('os');
const path = require('path');

const TOLERANCE = 0.051;
const AT_RISK_CAP = 50;
const READY_TIMEOUT_MS = 30000;
const CHARTS = ['#activity-chart', '#funnel-chart', '#mastery-chart'];
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // --user-data-dir: playwright refuses it in args; the fresh temp dir is
  // passed as launchPersistentContext's userDataDir instead (same flag).
];

class TestFailure extends Error {}

function fail(msg) {
  throw new TestFailure(msg);
}

function env(name) {
  const v = process.env[name];
  if (v === undefined || v === '') fail(`environment variable ${name} is required`);
  return v;
}

function log(msg) {
  process.stderr.write(`dashboard: ${msg}\n`);
}

async function apiMetrics(base, token, course, learners) {
  const params = new URLSearchParams();
  if (course) params.set('course', course);
  if (learners) params.set('learners', learners);
  const url = `${base}/v1/admin/metrics${params.toString() ? `?${params}` : ''}`;
  let res;
  try {
    res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  } catch (e) {
    fail(`GET ${url} failed: ${e.cause ? e.cause.message || e.cause : e.message}`);
  }
  const body = await res.text();
  if (!res.ok) fail(`GET ${url} -> HTTP ${res.status}: ${body.slice(0, 300)}`);
  let json;
  try {
    json = JSON.parse(body);
  } catch (e) {
    fail(`GET ${url}: response is not JSON: ${body.slice(0, 300)}`);
  }
  if (!json || typeof json.summary !== 'object' || json.summary === null || Array.isArray(json.summary)) {
    fail(`GET ${url}: response has no object "summary"`);
  }
  if (!Array.isArray(json.at_risk)) fail(`GET ${url}: response has no array "at_risk"`);
  return json;
}

// What the page must show for an API value, as a number.
function expectedShown(key, value) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return NaN;
  const v = key.endsWith('_rate') ? value * 100 : value;
  return Math.round(v * 10) / 10;
}

async function readPageMetrics(page) {
  const raw = await page.$$eval('[data-metric]', (els) =>
    els.map((el) => [el.getAttribute('data-metric'), (el.textContent || '').trim()]));
  const metrics = {};
  const problems = [];
  for (const [name, text] of raw) {
    if (Object.prototype.hasOwnProperty.call(metrics, name)) problems.push(`data-metric="${name}" appears more than once`);
    const stripped = text.replace(/%$/, '').trim();
    const n = stripped === '' ? NaN : Number(stripped);
    if (Number.isNaN(n)) problems.push(`data-metric="${name}" text ${JSON.stringify(text)} is not a number`);
    metrics[name] = n;
  }
  return { metrics, problems };
}

function compareMetrics(label, pageRead, summary) {
  const { metrics, problems } = pageRead;
  const mismatches = [...problems];
  for (const key of Object.keys(summary)) {
    if (!Object.prototype.hasOwnProperty.call(metrics, key)) {
      mismatches.push(`${key}: in API summary but no [data-metric="${key}"] on the page`);
      continue;
    }
    const want = expectedShown(key, summary[key]);
    const got = metrics[key];
    if (Number.isNaN(want)) {
      mismatches.push(`${key}: API value ${JSON.stringify(summary[key])} is not a finite number`);
    } else if (!(Math.abs(got - want) <= TOLERANCE)) {
      mismatches.push(`${key}: page shows ${got}, API ${summary[key]} -> expected ${want}${key.endsWith('_rate') ? '%' : ''}`);
    }
  }
  for (const key of Object.keys(metrics)) {
    if (!Object.prototype.hasOwnProperty.call(summary, key)) {
      mismatches.push(`${key}: [data-metric] on the page but not in API summary`);
    }
  }
  if (mismatches.length) fail(`${label}: ${mismatches.length} metric mismatch(es):\n  - ${mismatches.join('\n  - ')}`);
  return Object.keys(metrics).length;
}

async function waitReady(page, course, label) {
  try {
    await page.waitForFunction((c) => {
      const s = document.querySelector('#status');
      return !!s && s.getAttribute('data-state') === 'ready' && (c === null || s.getAttribute('data-course') === c);
    }, course, { timeout: READY_TIMEOUT_MS, polling: 100 });
  } catch (e) {
    const st = await page.$eval('#status', (s) => ({
      state: s.getAttribute('data-state'), course: s.getAttribute('data-course'), text: (s.textContent || '').trim(),
    })).catch(() => null);
    fail(`${label}: #status not ready${course === null ? '' : ` with data-course=${JSON.stringify(course)}`} after ` +
      `${READY_TIMEOUT_MS / 1000}s; #status is ${st ? JSON.stringify(st) : 'missing'}`);
  }
}

async function checkCharts(page) {
  const problems = [];
  for (const sel of CHARTS) {
    const info = await page.$$eval(`${sel} svg`, (svgs) => svgs.map((svg) =>
      svg.querySelectorAll('rect, path, polyline').length));
    if (info.length === 0) problems.push(`${sel}: no <svg>`);
    else if (!info.some((n) => n > 0)) problems.push(`${sel}: <svg> has no rect/path/polyline`);
  }
  if (problems.length) fail(`charts: ${problems.join('; ')}`);
}

async function checkAtRisk(page, api, label) {
  const rows = await page.$$eval('#at-risk tbody tr', (trs) => trs.length);
  const want = Math.min(api.at_risk.length, AT_RISK_CAP);
  if (rows !== want) {
    fail(`${label}: #at-risk has ${rows} tbody rows, expected ${want} (API at_risk.length=${api.at_risk.length}, cap ${AT_RISK_CAP})`);
  }
  return rows;
}

// The Cohorts table: one row per cohort of GET /v1/admin/cohorts (of the selected course, when
// one is), each with the cohort's id and its member count.
async function checkCohorts(page, base, token, course, label) {
  const res = await fetch(`${base}/v1/admin/cohorts`, { headers: { Authorization: `Bearer ${token}` } });
  if (!res.ok) fail(`GET /v1/admin/cohorts -> HTTP ${res.status}`);
  const cohorts = (await res.json()).filter((c) => !course || c.course === course);
  const rows = await page.$$eval('#cohorts tbody tr', (trs) =>
    trs.map((tr) => [tr.getAttribute('data-cohort'), tr.cells[1].textContent]));
  const want = cohorts.map((c) => [c.id, String(c.metrics.members)]);
  if (JSON.stringify(rows) !== JSON.stringify(want)) {
    fail(`${label}: #cohorts rows ${JSON.stringify(rows)}, expected ${JSON.stringify(want)}`);
  }
  return rows.length;
}

function changedMetrics(a, b) {
  return Object.keys(a).filter((k) => Object.prototype.hasOwnProperty.call(b, k) && a[k] !== b[k]);
}

async function main() {
  const base = env('DASHBOARD_URL').replace(/\/+$/, '');
  const token = env('ADMIN_TOKEN');
  const screenshot = path.resolve(env('SCREENSHOT'));
  const course = env('FILTER_COURSE');
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!fs.existsSync(executablePath)) fail(`${executablePath} not found (run scripts/browser.sh install)`);

  let chromium;
  try {
    ({ chromium } = require('playwright-core'));
  } catch (e) {
    fail(`cannot load playwright-core (${e.message}); run through scripts/browser.sh run`);
  }

  // The API first: a broken API is reported as such, not as a page timeout.
  const apiAll = await apiMetrics(base, token, '');
  const apiCourse = await apiMetrics(base, token, course);
  const filteredChanged = changedMetrics(apiAll.summary, apiCourse.summary);
  if (filteredChanged.length === 0) {
    fail(`API: /v1/admin/metrics?course=${course} has the same summary as the unfiltered one; the filter changes nothing`);
  }
  log(`metrics that differ with course=${course}: ${filteredChanged.join(', ')}`);

  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidbit-chromium-'));
  let context;
  const pageErrors = [];
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
      timeout: 60000,
    });
    const page = context.pages()[0] || (await context.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      // Chromium asks for /favicon.ico by itself; its 404 is not the page's fault.
      if (m.type() === 'error' && !/\/favicon\.ico$/.test(m.location().url || '')) pageErrors.push(`console: ${m.text()}`);
    });

    const res = await page.goto(`${base}/admin`, { waitUntil: 'load', timeout: READY_TIMEOUT_MS });
    if (!res || !res.ok()) fail(`GET ${base}/admin -> ${res ? `HTTP ${res.status()}` : 'no response'}`);

    await page.fill('#token', token, { timeout: 10000 });
    await page.click('#sign-in', { timeout: 10000 });
    await waitReady(page, null, 'after sign-in');

    const pageAll = await readPageMetrics(page);
    const metricCount = compareMetrics('all courses', pageAll, apiAll.summary);
    await checkCharts(page);
    await checkAtRisk(page, apiAll, 'all courses');
    const cohortRows = await checkCohorts(page, base, token, '', 'all courses');
    if (process.env.EXPECT_COHORTS && cohortRows !== Number(process.env.EXPECT_COHORTS)) {
      fail(`#cohorts has ${cohortRows} rows, expected ${process.env.EXPECT_COHORTS}`);
    }

    const options = await page.$$eval('#course option', (os) => os.map((o) => o.value));
    if (!options.includes('')) fail('#course has no empty-valued "All courses" option');
    if (!options.includes(course)) fail(`#course has no option ${JSON.stringify(course)} (options: ${JSON.stringify(options)})`);
    await page.selectOption('#course', course, { timeout: 10000 });
    await waitReady(page, course, `after selecting course ${course}`);

    compareMetrics(`course ${course}`, await readPageMetrics(page), apiCourse.summary);
    await checkCharts(page);
    await checkAtRisk(page, apiCourse, `course ${course}`);
    await checkCohorts(page, base, token, course, `course ${course}`);

    // A cohort within the course: FILTER_LEARNERS (comma-separated ids), when given.
    const learners = process.env.FILTER_LEARNERS || '';
    if (learners) {
      const apiCohort = await apiMetrics(base, token, course, learners);
      await page.fill('#learners', learners, { timeout: 10000 });
      await page.press('#learners', 'Tab');
      try {
        await page.waitForFunction((l) => {
          const s = document.getElementById('status');
          return !!s && s.getAttribute('data-state') === 'ready' && s.getAttribute('data-learners') === l;
        }, learners, { timeout: READY_TIMEOUT_MS });
      } catch (e) {
        fail(`#status not ready for learners ${learners}`);
      }
      compareMetrics(`cohort ${learners}`, await readPageMetrics(page), apiCohort.summary);
      if (apiCohort.summary.learners === apiCourse.summary.learners) {
        fail(`the cohort ${learners} counts as many learners as the course: the filter changes nothing`);
      }
      await page.fill('#learners', '', { timeout: 10000 });
      await page.press('#learners', 'Tab');
      await waitReady(page, course, 'after clearing the cohort');
    }

    fs.mkdirSync(path.dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    if (pageErrors.length) log(`page reported errors (not fatal):\n  ${pageErrors.join('\n  ')}`);

    process.stdout.write(JSON.stringify({
      ok: true, metrics: metricCount, filtered_changed: filteredChanged, screenshot,
    }) + '\n');
  } catch (e) {
    if (pageErrors.length) e.message += `\npage errors:\n  ${pageErrors.join('\n  ')}`;
    throw e;
  } finally {
    if (context) await context.close().catch((e) => log(`closing the browser failed: ${e.message}`));
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  const msg = e instanceof TestFailure ? e.message : (e && e.stack) || String(e);
  process.stderr.write(`dashboard: FAIL: ${msg}\n`);
  process.exitCode = 1;
});
