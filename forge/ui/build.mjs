// Builds the Custom UI resources of forge/manifest.yml into ui/dist/<page>/ (not committed) from the very files the
// Connect pages are made of, so both doors run one UI and there is one source of markup:
//   index.html     templates/<page>.html rendered at build time (nunjucks reads Jinja's syntax), with ui/pages/base.html
//                  standing in for templates/base.html: the Forge transport instead of all.js, relative file URLs
//   the page files every file index.html refers to (styles, scripts, its strings file), copied from static/
//   forge-host.js  the Forge transport: src/bridge-transport.js with @forge/bridge, bundled by esbuild
// The build goes into a fresh folder that then replaces ui/dist, so whoever serves ui/dist meanwhile (the sandbox
// of `make run` or of a test) never sees a half-written page.
import { build } from "esbuild";
import nunjucks from "nunjucks";
import { access, chmod, cp, mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..");
const templates = path.join(root, "templates");
const statics = path.join(root, "static");
const dist = path.join(here, "dist");
const TRANSPORT = "forge-host.js";

// Resource key (manifest `resources`) → the Connect page template it is built from.
const PAGES = { dialog: "dialog.html", admin: "admin.html", space: "space.html" };

// What the Connect templates get from Flask (views/modules.py), as the Forge pages need it: files beside index.html,
// no request values (a Custom UI page learns its page and space from the Forge context at run time).
const PAGE_VALUES = { locale: "en", content_id: "", space_key: "", request: { script_root: "" } };

function urlFor(endpoint, keywords) {
  const filename = keywords && keywords.filename;
  if (endpoint !== "static" || typeof filename !== "string" || !filename) {
    throw new Error(`url_for(${JSON.stringify(endpoint)}) has no Forge counterpart: only static files are bundled`);
  }
  return filename;
}

// Jinja's xmlattr: ` key="value"` for each entry that is not None, escaped; invalid names are an error, as there.
function xmlattr(attributes) {
  const parts = [];
  for (const [name, value] of Object.entries(attributes || {})) {
    if (name === "__keywords" || value === undefined || value === null) {
      continue;
    }
    if (/[\s/>=]/.test(name)) {
      throw new Error(`xmlattr: invalid attribute name ${JSON.stringify(name)}`);
    }
    parts.push(`${nunjucks.lib.escape(name)}="${nunjucks.lib.escape(String(value))}"`);
  }
  return new nunjucks.runtime.SafeString(parts.length ? " " + parts.join(" ") : "");
}

function templateEnvironment() {
  // ui/pages first: its base.html is found before the Connect one; everything else comes from templates/.
  const loader = new nunjucks.FileSystemLoader([path.join(here, "pages"), templates], { noCache: true });
  // Flask autoescapes .html templates; a value the templates use but the build doesn't give is an error here.
  const environment = new nunjucks.Environment(loader, { autoescape: true, throwOnUndefined: true });
  environment.addGlobal("url_for", urlFor);
  environment.addFilter("xmlattr", xmlattr);
  return environment;
}

// The files a page refers to by a relative URL: <link href>, <script src>, data-strings-url.
function referencedFiles(html) {
  const found = new Set();
  for (const match of html.matchAll(/\s(?:src|href|data-strings-url)="([^"]*)"/g)) {
    const reference = match[1].replace(/&amp;/g, "&");
    if (reference && !/^(?:[a-z][a-z0-9+.-]*:|\/|#)/i.test(reference)) {
      found.add(reference);
    }
  }
  return [...found];
}

async function bundleTransport(out) {
  await build({
    entryPoints: [path.join(here, "src", "bridge-transport.js")],
    bundle: true,
    format: "iife",
    target: "es2020",
    minify: true,
    legalComments: "linked",
    outfile: path.join(out, TRANSPORT),
    logLevel: "warning",
  });
}

async function buildPage(environment, transportDir, out, name, template) {
  const html = environment.render(template, PAGE_VALUES);
  const files = referencedFiles(html);
  if (!files.includes(TRANSPORT)) {
    throw new Error(`${name}: the rendered page does not load ${TRANSPORT} (ui/pages/base.html must)`);
  }
  await mkdir(out, { recursive: true });
  for (const file of files) {
    if (file === TRANSPORT) {
      continue;
    }
    const source = path.resolve(statics, file);
    if (!source.startsWith(statics + path.sep)) {
      throw new Error(`${name}: ${file} is outside static/`);
    }
    try {
      await access(source);
    } catch (error) {
      throw new Error(`${name}: the page refers to ${file}, which static/ does not have`);
    }
    await mkdir(path.dirname(path.join(out, file)), { recursive: true });
    await cp(source, path.join(out, file));
  }
  await cp(path.join(transportDir, TRANSPORT), path.join(out, TRANSPORT));
  // esbuild writes the bundled packages' licence comments beside the bundle when they have any.
  await cp(path.join(transportDir, `${TRANSPORT}.LEGAL.txt`), path.join(out, `${TRANSPORT}.LEGAL.txt`)).catch((error) => {
    if (error.code !== "ENOENT") {
      throw error;
    }
  });
  await writeFile(path.join(out, "index.html"), html);
}

async function main() {
  const staging = await mkdtemp(path.join(here, ".dist-building-"));
  const previous = path.join(here, `.dist-previous-${process.pid}`);
  try {
    const transportDir = path.join(staging, ".transport");
    await bundleTransport(transportDir);
    const environment = templateEnvironment();
    for (const [name, template] of Object.entries(PAGES)) {
      await buildPage(environment, transportDir, path.join(staging, name), name, template);
    }
    await rm(transportDir, { recursive: true, force: true });
    await rename(dist, previous).catch((error) => {
      if (error.code !== "ENOENT") {
        throw error;
      }
    });
    await rename(staging, dist);
    await chmod(dist, 0o755); // mkdtemp made it owner-only; the files are as public as any static file
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rm(previous, { recursive: true, force: true });
  }
  console.log(`built ${Object.keys(PAGES).join(", ")} into ${path.relative(process.cwd(), dist) || "."}`);
}

await main();
