/**
 * `urb view` in a real browser (Debian's headless `chromium`, driven by playwright-core): the page
 * written from a recording of the example program loads from disk with no network, draws a row per
 * lane with events in it, zooms with the wheel and the buttons, and its screenshot has content
 * where the lanes are. URB_SCREENSHOT=path keeps the screenshot (docs/view.png is made this way).
 *
 * Skipped with the reason when /usr/bin/chromium is missing, except under CI, where it fails.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { APP, urb } from './urb-process.js';

const CHROMIUM = '/usr/bin/chromium';
const inCi = process.env['CI'] === 'true';
const missing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (Debian: apt-get install chromium; .ci/run installs it)`;
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const dir = mkdtempSync(join(tmpdir(), 'urb-view-'));
const html = join(dir, 'app.html');
after(() => rmSync(dir, { recursive: true, force: true }));
before(async () => {
  if (missing !== undefined && !inCi) return;
  const file = join(dir, 'app.urb');
  const rec = await urb(['record', '-o', file, '--', process.execPath, APP, '--requests', '40', '--jobs', '30']);
  assert.equal(rec.code, 0, rec.stderr);
  const view = await urb(['view', file, '-o', html, '--title', 'traced-app (urb record)']);
  assert.equal(view.code, 0, view.stderr);
});

interface ViewState {
  ready: boolean;
  from: number;
  to: number;
  drawn: { events: number; lost: number; lanesWithEvents: number; draws: number };
}

const state = (page: Page) => page.evaluate(() => {
  const v = (window as unknown as { urbView: ViewState }).urbView;
  return { ready: v.ready, from: v.from, to: v.to, drawn: { ...v.drawn } };
});

/** Pixels per lane row of the timeline canvas (in CSS px rows) that are coloured (not grey/white). */
const colouredPerLane = (page: Page) => page.evaluate(() => {
  const c = document.getElementById('timeline') as HTMLCanvasElement;
  const ctx = c.getContext('2d')!;
  const scale = c.width / c.clientWidth;
  const data = (window as unknown as { urbView: unknown }) && JSON.parse(document.getElementById('urb-data')!.textContent!) as { lanes: unknown[] };
  const out: number[] = [];
  for (let row = 0; row < data.lanes.length; row++) {
    const y0 = Math.round((26 + row * 36) * scale);
    const img = ctx.getImageData(Math.round(128 * scale), y0, c.width - Math.round(128 * scale), Math.round(36 * scale)).data;
    let n = 0;
    for (let i = 0; i < img.length; i += 4) {
      const r = img[i]!, g = img[i + 1]!, b = img[i + 2]!;
      if (Math.max(r, g, b) - Math.min(r, g, b) > 60) n++;
    }
    out.push(n);
  }
  return out;
});

test('urb view in Chromium: loads offline, draws the lanes, zooms, and the screenshot shows them', { skip: inCi ? false : (missing ?? false), timeout: 90_000 }, async (t) => {
  assert.equal(missing, undefined, missing);
  const profile = mkdtempSync(join(tmpdir(), 'urb-chromium-'));
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1200, height: 600 } });
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('request', (r) => requests.push(r.url()));
    const url = pathToFileURL(html).href;
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as { urbView?: { ready: boolean } }).urbView?.ready === true, undefined, { timeout: 10_000 });
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, [url], 'the page loads nothing but itself');

    const lanes = (JSON.parse(readFileSync(html, 'utf8').match(/<script type="application\/json" id="urb-data">(.*?)<\/script>/s)![1]!) as { lanes: unknown[] }).lanes.length;
    const first = await state(page);
    assert.ok(lanes >= 2);
    assert.equal(first.drawn.lanesWithEvents, lanes);
    const pixels = await colouredPerLane(page);
    t.diagnostic(`coloured pixels per lane row: ${pixels.join(', ')}`);
    assert.equal(pixels.length, lanes);
    for (const n of pixels) assert.ok(n > 50, `a lane row has ${n} coloured pixels`);

    // Wheel up over the first lane's events zooms in around the pointer.
    const box = (await page.locator('#timeline').boundingBox())!;
    const firstEventX = await page.evaluate(() => {
      const c = document.getElementById('timeline') as HTMLCanvasElement;
      const scale = c.width / c.clientWidth;
      const img = c.getContext('2d')!.getImageData(0, Math.round(30 * scale), c.width, 1).data;
      for (let x = Math.round(130 * scale); x < c.width; x++) {
        const i = x * 4;
        if (Math.max(img[i]!, img[i + 1]!, img[i + 2]!) - Math.min(img[i]!, img[i + 1]!, img[i + 2]!) > 60) return x / scale;
      }
      return -1;
    });
    assert.ok(firstEventX > 0, 'an event in the first lane');
    await page.mouse.move(box.x + firstEventX, box.y + 40);
    await page.mouse.wheel(0, -600);
    await page.waitForFunction((n) => (window as unknown as { urbView: ViewState }).urbView.drawn.draws > n, first.drawn.draws);
    const zoomed = await state(page);
    const span0 = first.to - first.from;
    const span1 = zoomed.to - zoomed.from;
    assert.ok(span1 < span0 * 0.6, `the wheel zoomed in: ${span0} -> ${span1}`);
    assert.ok(zoomed.drawn.events > 0, 'events around the pointer are still drawn');
    await page.click('#zoom-in');
    await page.waitForFunction((n) => (window as unknown as { urbView: ViewState }).urbView.drawn.draws > n, zoomed.drawn.draws);
    const twice = await state(page);
    assert.ok(Math.abs((twice.to - twice.from) / span1 - 0.5) < 1e-9, 'the + button halves the window');
    await page.click('#zoom-reset');
    await page.waitForFunction((n) => (window as unknown as { urbView: ViewState }).urbView.drawn.draws > n, twice.drawn.draws);
    const reset = await state(page);
    assert.deepEqual([reset.from, reset.to], [first.from, first.to]);

    // The screenshot, decoded by the browser itself: not blank, many colours, content in each lane band.
    const png = await page.screenshot({ fullPage: true });
    if (process.env['URB_SCREENSHOT']) writeFileSync(process.env['URB_SCREENSHOT'], png);
    const shot = await page.evaluate(async ({ src, top, left, width, rows }) => {
      const img = new Image();
      img.src = src;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.width;
      c.height = img.height;
      const ctx = c.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      const all = ctx.getImageData(0, 0, c.width, c.height).data;
      const colours = new Set<number>();
      let nonBackground = 0;
      for (let i = 0; i < all.length; i += 4) {
        colours.add(((all[i]! >> 4) << 8) | ((all[i + 1]! >> 4) << 4) | (all[i + 2]! >> 4));
        if (!(all[i]! > 240 && all[i + 1]! > 240 && all[i + 2]! > 240)) nonBackground++;
      }
      const perRow: number[] = [];
      for (let row = 0; row < rows; row++) {
        const band = ctx.getImageData(Math.round(left + 128), Math.round(top + 26 + row * 36), Math.round(width - 136), 36).data;
        let n = 0;
        for (let i = 0; i < band.length; i += 4) if (Math.max(band[i]!, band[i + 1]!, band[i + 2]!) - Math.min(band[i]!, band[i + 1]!, band[i + 2]!) > 60) n++;
        perRow.push(n);
      }
      return { width: c.width, height: c.height, colours: colours.size, nonBackground: nonBackground / (all.length / 4), perRow };
    }, { src: `data:image/png;base64,${png.toString('base64')}`, top: box.y, left: box.x, width: box.width, rows: lanes });
    t.diagnostic(`screenshot ${shot.width}x${shot.height}: ${shot.colours} colours, ${(shot.nonBackground * 100).toFixed(1)}% not background, per lane ${shot.perRow.join(', ')}`);
    assert.ok(shot.colours > 20, 'not a blank or flat image');
    assert.ok(shot.nonBackground > 0.02, 'more than the page background');
    for (const n of shot.perRow) assert.ok(n > 50, `a lane band of the screenshot has ${n} coloured pixels`);
  } finally {
    await context?.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
