/**
 * `urb view` in a real browser (Debian's headless `chromium`, driven by playwright-core).
 *
 * 1. The page of a recording of the example service (`urb record`, then `urb view`): loads from
 *    disk with no network, draws every row, labels slices and instants, zooms with the wheel and
 *    the buttons, a click on a span shows all its fields, the search box filters, and its screenshot
 *    has content in every thread's band. URB_SCREENSHOT=path keeps the screenshot (docs/view.png
 *    is made this way).
 * 2. The page of a trace whose records say who wrote them (two processes, named threads): process
 *    headers and thread rows with their names, async rows under their thread.
 *    URB_SCREENSHOT_THREADS=path keeps that screenshot.
 *
 * Skipped with the reason when /usr/bin/chromium is missing, except under CI, where it fails.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { clientScriptForPage, renderViewHtml } from '../../src/export/html-view.js';
import { buildViewData } from '../../src/export/view-data.js';
import { serviceMoment } from '../export/service-moment.js';
import { traceOf, type Op } from '../export/trace-fixtures.js';
import { urb } from './urb-process.js';

const CHROMIUM = '/usr/bin/chromium';
const inCi = process.env['CI'] === 'true';
const missing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (Debian: apt-get install chromium; .ci/run installs it)`;
const skip = inCi ? false : (missing ?? false);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SERVICE = fileURLToPath(new URL('../../examples/service.js', import.meta.url));
const CLIENT = fileURLToPath(new URL('../../src/export/view-client.js', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'urb-view-'));
const html = join(dir, 'service.html');
after(() => rmSync(dir, { recursive: true, force: true }));
before(async () => {
  if (skip !== false) return;
  const file = join(dir, 'service.urb');
  const rec = await urb(['record', '-o', file, '--', process.execPath, SERVICE], { env: { ...process.env, SERVICE_REQUESTS: '40', SERVICE_CONCURRENCY: '4', SERVICE_WORKERS: '2' }, timeoutMs: 60_000 });
  assert.equal(rec.code, 0, rec.stderr);
  const view = await urb(['view', file, '-o', html, '--title', 'example service (urb record)']);
  assert.equal(view.code, 0, view.stderr);
});

interface Band {
  y: number;
  h: number;
  kind: 'process' | 'thread' | 'async';
  name: string;
  records: number;
}
interface ViewState {
  ready: boolean;
  from: number;
  to: number;
  drawn: { events: number; labels: number; lost: number; rowsWithEvents: number; draws: number; matches: number };
  selected: { name: string; type: string; thread: string; fields: Record<string, unknown> } | undefined;
  colours: string[];
  layout: { gutter: number; bands: Band[] };
}

const state = (page: Page) => page.evaluate(() => {
  const v = (window as unknown as { urbView: ViewState }).urbView;
  return { ready: v.ready, from: v.from, to: v.to, drawn: { ...v.drawn }, selected: v.selected, colours: v.colours, layout: v.layout };
});
/**
 * Wait for a draw after `draws`, then for the next animation frame: a draw counted may have been
 * scheduled before the action (a full-page screenshot resizes the page, which redraws), and the
 * draw the action scheduled runs at the latest in that frame.
 */
const redrawn = async (page: Page, draws: number) => {
  await page.waitForFunction((n) => (window as unknown as { urbView: ViewState }).urbView.drawn.draws > n, draws);
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(done)));
};

/** Pixels of each band of the timeline canvas (right of the names) that are coloured (not grey/white). */
const colouredPerBand = (page: Page) => page.evaluate(() => {
  const v = (window as unknown as { urbView: ViewState }).urbView;
  const c = document.getElementById('timeline') as HTMLCanvasElement;
  const ctx = c.getContext('2d')!;
  const scale = c.width / c.clientWidth;
  return v.layout.bands.map((b) => {
    const x0 = Math.round(v.layout.gutter * scale);
    const img = ctx.getImageData(x0, Math.round(b.y * scale), c.width - x0, Math.round(b.h * scale)).data;
    let n = 0;
    for (let i = 0; i < img.length; i += 4) if (Math.max(img[i]!, img[i + 1]!, img[i + 2]!) - Math.min(img[i]!, img[i + 1]!, img[i + 2]!) > 60) n++;
    return n;
  });
});

async function open(url: string, run: (page: Page, requests: string[], errors: string[]) => Promise<void>): Promise<void> {
  const profile = mkdtempSync(join(tmpdir(), 'urb-chromium-'));
  let context: BrowserContext | undefined;
  try {
    // A new, empty profile every run.
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1400, height: 900 } });
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as { urbView?: { ready: boolean } }).urbView?.ready === true, undefined, { timeout: 10_000 });
    await run(page, requests, errors);
  } finally {
    await context?.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

test('urb view in Chromium: rows drawn and labelled, zoom, a click shows all fields, the search filters, the screenshot has content', { skip, timeout: 120_000 }, async (t) => {
  assert.equal(missing, undefined, missing);
  const url = pathToFileURL(html).href;
  await open(url, async (page, requests, errors) => {
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, [url], 'the page loads nothing but itself');
    const data = JSON.parse(readFileSync(html, 'utf8').match(/<script type="application\/json" id="urb-data">(.*?)<\/script>/s)![1]!) as { rows: { kind: string; name: string }[]; types: { name: string }[] };
    const first = await state(page);
    const rows = first.layout.bands.filter((b) => b.kind !== 'process');
    assert.equal(rows.length, data.rows.length);
    assert.ok(rows.some((b) => b.kind === 'async'), 'async rows');
    assert.equal(first.drawn.rowsWithEvents, data.rows.length);
    assert.ok(first.drawn.labels > 10, `${first.drawn.labels} labels drawn`);
    assert.equal(new Set(first.colours).size, data.types.length, 'a distinct colour per event type');
    const pixels = await colouredPerBand(page);
    t.diagnostic(`bands: ${first.layout.bands.map((b, i) => `${b.kind} ${b.name}: ${pixels[i]}`).join('; ')}; ${first.drawn.labels} labels`);
    first.layout.bands.forEach((b, i) => b.kind !== 'process' && assert.ok(pixels[i]! > 5, `row ${b.name} has ${pixels[i]} coloured pixels`));

    // Wheel up over the timeline zooms in around the pointer; + halves; reset restores.
    const box = (await page.locator('#timeline').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + rows[0]!.y + 10);
    await page.mouse.wheel(0, -600);
    await redrawn(page, first.drawn.draws);
    const zoomed = await state(page);
    const span0 = first.to - first.from;
    const span1 = zoomed.to - zoomed.from;
    assert.ok(span1 < span0 * 0.6, `the wheel zoomed in: ${span0} -> ${span1}`);
    await page.click('#zoom-in');
    await redrawn(page, zoomed.drawn.draws);
    const twice = await state(page);
    assert.ok(Math.abs((twice.to - twice.from) / span1 - 0.5) < 1e-9, 'the + button halves the window');
    await page.click('#zoom-reset');
    await redrawn(page, twice.drawn.draws);
    const reset = await state(page);
    assert.deepEqual([reset.from, reset.to], [first.from, first.to]);

    // A click on a span shows its details: every field.
    const at = await page.evaluate(() => (window as unknown as { urbView: { locate(l: string): { x: number; y: number } | undefined } }).urbView.locate('GET /hash/:n'));
    assert.ok(at !== undefined, 'a span GET /hash/:n is drawn');
    await page.mouse.click(at.x, at.y);
    await redrawn(page, reset.drawn.draws);
    const clicked = await state(page);
    assert.equal(clicked.selected?.name, 'GET /hash/:n');
    assert.equal(clicked.selected?.type, 'otel.span');
    const details = await page.locator('#details').innerText();
    for (const field of ['traceId', 'spanId', 'startNs', 'durationNs', 'kind', 'attributes', 'duration']) assert.ok(details.includes(field), `details show ${field}: ${details}`);
    assert.ok(details.includes(String(clicked.selected?.fields['traceId'])));
    t.diagnostic(`details of the clicked span:\n${details}`);

    // The search box: only matching events are drawn.
    await page.fill('#search', 'pino');
    await redrawn(page, clicked.drawn.draws);
    const searched = await state(page);
    assert.ok(searched.drawn.matches > 0 && searched.drawn.events < clicked.drawn.events, `search "pino": ${searched.drawn.matches} matches, ${searched.drawn.events} of ${clicked.drawn.events} drawn`);
    assert.match(await page.locator('#found').innerText(), /^\d+ match(es)?$/);
    const png0 = await page.screenshot({ fullPage: true });
    if (process.env['URB_SCREENSHOT_SEARCH']) writeFileSync(process.env['URB_SCREENSHOT_SEARCH'], png0);
    await page.fill('#search', '');
    await redrawn(page, searched.drawn.draws);
    assert.equal((await state(page)).drawn.events, clicked.drawn.events);

    // The screenshot, decoded by the browser itself: not blank, many colours, content in each row band.
    await page.mouse.move(0, 0); // the tooltip away
    const png = await page.screenshot({ fullPage: true });
    if (process.env['URB_SCREENSHOT']) writeFileSync(process.env['URB_SCREENSHOT'], png);
    const shot = await page.evaluate(async ({ src, top, left, bands, gutter, width }) => {
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
      for (let i = 0; i < all.length; i += 4) colours.add(((all[i]! >> 4) << 8) | ((all[i + 1]! >> 4) << 4) | (all[i + 2]! >> 4));
      const perRow = bands.filter((b) => b.kind !== 'process').map((b) => {
        const band = ctx.getImageData(Math.round(left + gutter), Math.round(top + b.y), Math.round(width - gutter - 8), Math.round(b.h)).data;
        let n = 0;
        for (let i = 0; i < band.length; i += 4) if (Math.max(band[i]!, band[i + 1]!, band[i + 2]!) - Math.min(band[i]!, band[i + 1]!, band[i + 2]!) > 60) n++;
        return n;
      });
      return { width: c.width, height: c.height, colours: colours.size, perRow };
    }, { src: `data:image/png;base64,${png.toString('base64')}`, top: box.y, left: box.x, bands: first.layout.bands, gutter: first.layout.gutter, width: box.width });
    t.diagnostic(`screenshot ${shot.width}x${shot.height}: ${shot.colours} colours, per row ${shot.perRow.join(', ')}`);
    assert.ok(shot.colours > 20, 'not a blank or flat image');
    for (const n of shot.perRow) assert.ok(n > 5, `a row band of the screenshot has ${n} coloured pixels`);
  });
});

test('urb view in Chromium: a trace that says who wrote each record shows processes, named threads and their async rows', { skip, timeout: 60_000 }, async (t) => {
  assert.equal(missing, undefined, missing);
  const page = join(dir, 'threads.html');
  const data = buildViewData(serviceMoment().p.traces().threads, { title: 'a service moment (two processes)' });
  writeFileSync(page, renderViewHtml(data, clientScriptForPage(readFileSync(CLIENT, 'utf8'))));
  await open(pathToFileURL(page).href, async (p, _requests, errors) => {
    assert.deepEqual(errors, []);
    const s = await state(p);
    const bands = s.layout.bands.map((b) => `${b.kind} ${b.name}`);
    t.diagnostic(bands.join(' | '));
    assert.deepEqual(bands, [
      'process pid 4100',
      'thread main',
      'async node.gc',
      'async node.http.server',
      'async node.http.server 2',
      'async node.worker.exit',
      'async otel.span',
      'thread pool-1',
      'thread pool-2',
      'process cluster worker 1',
      'thread main',
      'async node.http.server',
    ]);
    // A thread's label counts all its records, those drawn on its async rows included.
    const perThread = new Map<string, number>();
    for (const r of data.rows) perThread.set(`${r.process} ${r.tid}`, (perThread.get(`${r.process} ${r.tid}`) ?? 0) + r.records);
    const threadBands = s.layout.bands.filter((b) => b.kind === 'thread').map((b) => b.records);
    const threadRows = data.rows.filter((r) => r.kind === 'thread').map((r) => perThread.get(`${r.process} ${r.tid}`));
    assert.deepEqual(threadBands, threadRows);
    assert.ok((threadBands[0] ?? 0) > (data.rows[0]?.records ?? 0), `main's label counts its async rows: ${threadBands[0]}`);
    const png = await p.screenshot({ fullPage: true });
    if (process.env['URB_SCREENSHOT_THREADS']) writeFileSync(process.env['URB_SCREENSHOT_THREADS'], png);
    const at = await p.evaluate(() => (window as unknown as { urbView: { locate(l: string): { x: number; y: number } | undefined } }).urbView.locate('request done'));
    assert.ok(at !== undefined);
    await p.mouse.click(at.x, at.y);
    await redrawn(p, s.drawn.draws);
    const after = await state(p);
    assert.equal(after.selected?.name, 'request done');
    assert.match(after.selected?.thread ?? '', /^main · pid 4100 \(pid 4100, tid 4100\)$/);
  });
});

test('urb view in Chromium: an interval shorter than a pixel is drawn as a whole pixel of its colour, not a faint blend of two', { skip, timeout: 60_000 }, async () => {
  assert.equal(missing, undefined, missing);
  // 3001 clock ticks over the plot's ~1200 px: the 1-tick interval is a fraction of a pixel wide.
  const ops: Op[] = Array.from({ length: 3001 }, (_, i) => (i === 1500 ? { kind: 'req', lane: 0, duration: 1 } : { kind: 'note', lane: 0 }));
  const data = buildViewData(traceOf(ops).trace, { title: 'a short interval' });
  const k = data.types.findIndex((x) => x.name === 'req');
  const page = join(dir, 'short.html');
  writeFileSync(page, renderViewHtml(data, clientScriptForPage(readFileSync(CLIENT, 'utf8'))));
  await open(pathToFileURL(page).href, async (p, _requests, errors) => {
    assert.deepEqual(errors, []);
    const { exact, tinted } = await p.evaluate((k) => {
      const v = (window as unknown as { urbView: ViewState }).urbView;
      const band = v.layout.bands.find((b) => b.kind === 'async')!;
      const want = Number.parseInt(v.colours[k]!.slice(1), 16);
      const c = document.getElementById('timeline') as HTMLCanvasElement;
      const scale = c.width / c.clientWidth;
      const x0 = Math.round(v.layout.gutter * scale);
      const img = c.getContext('2d')!.getImageData(x0, Math.round(band.y * scale), c.width - x0, Math.round(band.h * scale)).data;
      let exact = 0;
      let tinted = 0;
      for (let i = 0; i < img.length; i += 4) {
        const rgb = (img[i]! << 16) | (img[i + 1]! << 8) | img[i + 2]!;
        if (rgb === want) exact++;
        else if (Math.max(img[i]!, img[i + 1]!, img[i + 2]!) - Math.min(img[i]!, img[i + 1]!, img[i + 2]!) > 10) tinted++;
      }
      return { exact, tinted };
    }, k);
    assert.ok(exact >= 5, `${exact} pixels of the interval's colour (${tinted} tinted ones)`);
    assert.equal(tinted, 0, 'no blended columns');
  });
});
