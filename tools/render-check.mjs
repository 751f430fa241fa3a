#!/usr/bin/env node
// Render files the way a reviewer sees them and report what a browser drew, as JSON on stdout.
//
//   node tools/render-check.mjs report <report.md> <screenshot dir>
//     GitHub-flavoured markdown (marked), GitHub's markdown CSS and Mermaid, light and dark
//     themes: Mermaid errors, each chart's line colours with their pixel counts and contrast
//     against the chart's background, and the tables as rendered.
//   node tools/render-check.mjs plots <served dir> <page, relative to it> <screenshot dir>
//     A `dvc plots show/diff` page: every vega-embed chart, whether it drew, and any request
//     that tried to leave 127.0.0.1 (the page must work offline).
//
// Headless Chromium (CHROMIUM, default /usr/bin/chromium) driven by playwright-core; files are
// served from 127.0.0.1 only and every other request is refused, as on a closed network.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");
const { PNG } = require("pngjs");

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const MODULES = join(ROOT, "node_modules");
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json" };
// Flags for a machine without a display, GPU or internet: no sandbox (containers, root), and
// none of the background traffic Chromium starts on its own.
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
// A colour counts as a chart's line within this distance (RGB); anti-aliased edges fall outside.
const NEAR = 48;

// --- a static server on 127.0.0.1 -------------------------------------------------------------

function serve(mounts) {
  // mounts: {"/prefix/": directory}; a path outside its directory is refused.
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url, "http://127.0.0.1").pathname);
    for (const [prefix, directory] of Object.entries(mounts)) {
      if (!path.startsWith(prefix)) continue;
      const file = resolve(directory, "." + sep + path.slice(prefix.length));
      if (file !== directory && !file.startsWith(directory + sep)) break;
      try {
        const body = readFileSync(file);
        response.writeHead(200, { "content-type": TYPES[extname(file)] || "application/octet-stream" });
        return response.end(body);
      } catch {
        break;
      }
    }
    response.writeHead(404).end();
  });
  return new Promise((done) => server.listen(0, "127.0.0.1", () => done(server)));
}

async function withBrowser(work) {
  const profile = mkdtempSync(join(tmpdir(), "render-check-"));
  // A new, empty profile each run (playwright passes it as --user-data-dir).
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: FLAGS,
    headless: true,
    viewport: { width: 1012, height: 800 }, // GitHub's comment column
    deviceScaleFactor: 1,
  });
  try {
    return await work(browser);
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

async function newPage(browser, theme, blocked) {
  const page = await browser.newPage();
  await page.emulateMedia({ colorScheme: theme });
  // Offline: only 127.0.0.1 answers; anything else is refused and recorded.
  await page.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === "127.0.0.1" || url.protocol === "data:") return route.continue();
    blocked.push(route.request().url());
    return route.abort();
  });
  return page;
}

// --- pixels -------------------------------------------------------------------------------------

function parseColour(text) {
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(text.trim());
  if (hex) {
    const h = hex[1].length === 3 ? [...hex[1]].map((c) => c + c).join("") : hex[1];
    return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16));
  }
  const rgb = /rgba?\(([^)]+)\)/.exec(text);
  if (rgb) return rgb[1].split(",").slice(0, 3).map((v) => Math.round(parseFloat(v)));
  return null;
}

function luminance([r, g, b]) {
  const channel = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

// WCAG's contrast ratio; 3:1 is its minimum for graphics a reader must see.
function contrast(a, b) {
  const [high, low] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (high + 0.05) / (low + 0.05);
}

function distance(a, b) {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

// The screenshot's most common colour (the chart's background) and a counter of pixels near a colour.
function analyse(buffer) {
  const png = PNG.sync.read(buffer);
  const histogram = new Map();
  for (let i = 0; i < png.data.length; i += 4) {
    const key = (png.data[i] << 16) | (png.data[i + 1] << 8) | png.data[i + 2];
    histogram.set(key, (histogram.get(key) || 0) + 1);
  }
  const [top] = [...histogram.entries()].sort((a, b) => b[1] - a[1])[0];
  const background = [(top >> 16) & 255, (top >> 8) & 255, top & 255];
  const near = (colour) => {
    let count = 0;
    for (const [key, n] of histogram) {
      const pixel = [(key >> 16) & 255, (key >> 8) & 255, key & 255];
      if (distance(pixel, colour) <= NEAR && distance(pixel, background) > NEAR) count += n;
    }
    return count;
  };
  return { background, near };
}

// --- the report ---------------------------------------------------------------------------------

function reportPage(theme) {
  // GitHub's own page colours behind the comment, so contrast is judged on what a reader sees.
  const background = theme === "dark" ? "#0d1117" : "#ffffff";
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8">
<link rel="stylesheet" href="/modules/github-markdown-css/github-markdown-${theme}.css">
<style>body { background: ${background}; margin: 0; } .markdown-body { box-sizing: border-box; max-width: 1012px; padding: 24px; }</style>
<script src="/modules/marked/lib/marked.umd.js"></script>
<script src="/modules/mermaid/dist/mermaid.min.js"></script>
</head><body>
<article class="markdown-body" id="report"></article>
<script>
window.rendered = (async () => {
  const source = await (await fetch("report.md")).text();
  const article = document.getElementById("report");
  article.innerHTML = marked.parse(source, { gfm: true });
  mermaid.initialize({ startOnLoad: false, theme: ${JSON.stringify(theme === "dark" ? "dark" : "default")} });
  const errors = [];
  let n = 0;
  for (const code of article.querySelectorAll("pre > code.language-mermaid")) {
    const holder = document.createElement("div");
    holder.className = "mermaid-chart";
    code.parentElement.replaceWith(holder);
    try {
      const { svg } = await mermaid.render("chart" + n++, code.textContent);
      holder.innerHTML = svg;
    } catch (error) {
      errors.push(String(error && error.message || error));
      holder.textContent = "Mermaid error";
    }
  }
  return errors;
})();
</script>
</body></html>`;
}

async function checkReport(markdownFile, outDir) {
  const blocked = [];
  const server = await serve({ "/modules/": MODULES, "/page/": outDir });
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    return await withBrowser(async (browser) => {
      const result = { themes: {}, blocked };
      writeFileSync(join(outDir, "report.md"), readFileSync(markdownFile));
      for (const theme of ["light", "dark"]) {
        writeFileSync(join(outDir, `report-${theme}.html`), reportPage(theme));
        const page = await newPage(browser, theme, blocked);
        const console_errors = [];
        page.on("pageerror", (error) => console_errors.push(String(error)));
        await page.goto(`${base}/page/report-${theme}.html`);
        const errors = await page.evaluate(() => window.rendered);
        const charts = [];
        const holders = await page.$$(".mermaid-chart");
        for (const [i, holder] of holders.entries()) {
          const facts = await holder.evaluate((element) => {
            const svg = element.querySelector("svg");
            if (!svg) return { title: null, strokes: [], error: element.textContent };
            const title = svg.querySelector("g.chart-title text, .chart-title text")?.textContent || null;
            const strokes = [...svg.querySelectorAll("g[class*='line-plot'] path")].map(
              (path) => getComputedStyle(path).stroke || path.getAttribute("stroke"),
            );
            return { title, strokes, error: element.querySelector(".error-text")?.textContent || null };
          });
          const shot = await holder.screenshot({ path: join(outDir, `chart-${theme}-${i + 1}.png`) });
          const { background, near } = analyse(shot);
          const lines = facts.strokes.map((stroke) => {
            const colour = parseColour(stroke) || [0, 0, 0];
            return { colour: stroke, pixels: near(colour), contrast: contrast(colour, background) };
          });
          charts.push({ title: facts.title, error: facts.error, background, lines });
        }
        const tables = await page.$$eval(".markdown-body table", (found) =>
          found.map((table) => ({
            headers: [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim()),
            rows: [...table.querySelectorAll("tbody tr")].map((tr) => tr.querySelectorAll("td").length),
          })),
        );
        // A table GFM did not recognise stays as text: a paragraph with a delimiter row in it.
        const broken = await page.$$eval(".markdown-body p", (found) =>
          found.filter((p) => /\|\s*-{3,}/.test(p.textContent)).map((p) => p.textContent.slice(0, 200)),
        );
        await page.screenshot({ path: join(outDir, `report-${theme}.png`), fullPage: true });
        result.themes[theme] = { mermaid_errors: errors, page_errors: console_errors, charts, tables, broken_tables: broken };
        await page.close();
      }
      return result;
    });
  } finally {
    server.close();
  }
}

// --- a DVC plots page ---------------------------------------------------------------------------

async function checkPlots(servedDir, pagePath, outDir) {
  const blocked = [];
  const server = await serve({ "/": resolve(servedDir) });
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    return await withBrowser(async (browser) => {
      const page = await newPage(browser, "light", blocked);
      const errors = [];
      page.on("pageerror", (error) => errors.push(String(error)));
      page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
      await page.goto(`${base}/${pagePath}`, { waitUntil: "load" });
      // vega-embed draws asynchronously; each chart ends with a canvas or an svg in its div.
      await page
        .waitForFunction(() => [...document.querySelectorAll("body > div[id]")].every((d) => d.querySelector("canvas, svg")), null, { timeout: 15000 })
        .catch(() => {});
      const charts = [];
      for (const [i, div] of (await page.$$("body > div[id]")).entries()) {
        const drawn = await div.evaluate((d) => Boolean(d.querySelector("canvas, svg")));
        const title = await div.evaluate((d) => d.id);
        let marks = 0;
        if (drawn) {
          // Anything clearly not background: lines, bars, cells, axes and text.
          const shot = await div.screenshot({ path: join(outDir, `plot-${i + 1}.png`) });
          marks = countNonBackground(shot, analyse(shot).background);
        }
        charts.push({ id: title, drawn, marks });
      }
      await page.screenshot({ path: join(outDir, "plots-page.png"), fullPage: true });
      const vega = await page.evaluate(() => ({ vega: typeof vega, vegaLite: typeof vegaLite, vegaEmbed: typeof vegaEmbed }));
      return { charts, errors, blocked, vega };
    });
  } finally {
    server.close();
  }
}

function countNonBackground(buffer, background) {
  const png = PNG.sync.read(buffer);
  let count = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    if (distance([png.data[i], png.data[i + 1], png.data[i + 2]], background) > NEAR) count++;
  }
  return count;
}

// --- main ---------------------------------------------------------------------------------------

const [mode, ...args] = process.argv.slice(2);
let result;
if (mode === "report" && args.length === 2) {
  mkdirSync(args[1], { recursive: true });
  result = await checkReport(resolve(args[0]), resolve(args[1]));
} else if (mode === "plots" && args.length === 3) {
  mkdirSync(args[2], { recursive: true });
  result = await checkPlots(args[0], args[1], resolve(args[2]));
} else {
  console.error("usage: render-check.mjs report <report.md> <out dir> | plots <served dir> <page> <out dir>");
  process.exit(2);
}
console.log(JSON.stringify(result, null, 2));
