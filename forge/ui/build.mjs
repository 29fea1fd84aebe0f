// Builds the Custom UI resources of forge/manifest.yml into ui/dist/<page>/ (not committed): the Forge transport
// (src/bridge-transport.js with @forge/bridge, bundled by esbuild) and, beside it, the same page scripts, styles
// and strings the Connect pages use (../../static), so both doors run one UI.
//
// Each page's index.html comes from ui/pages/<page>.html (Custom UI allows no inline script: files only).
import { build } from "esbuild";
import { cp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const statics = path.resolve(here, "..", "..", "static");
const dist = path.join(here, "dist");

// Resource key (manifest) → the page script it runs, after the shared pagemail.js.
const PAGES = {
  dialog: { script: "dialog.js", styles: ["app.css", "dialog.css"] },
  admin: { script: "admin.js", styles: ["app.css", "admin.css"] },
  space: { script: "space.js", styles: ["app.css", "admin.css"] },
};

async function buildPage(name, page) {
  const out = path.join(dist, name);
  await mkdir(out, { recursive: true });
  await build({
    entryPoints: [path.join(here, "src", "bridge-transport.js")],
    bundle: true,
    format: "iife",
    target: "es2020",
    minify: true,
    legalComments: "linked",
    outfile: path.join(out, "forge-host.js"),
    logLevel: "warning",
  });
  for (const file of ["pagemail.js", page.script, ...page.styles]) {
    await cp(path.join(statics, file), path.join(out, file));
  }
  await cp(path.join(statics, "i18n"), path.join(out, "i18n"), { recursive: true });
  const html = await readFile(path.join(here, "pages", `${name}.html`), "utf8");
  await writeFile(path.join(out, "index.html"), html);
}

await rm(dist, { recursive: true, force: true });
for (const [name, page] of Object.entries(PAGES)) {
  await buildPage(name, page);
}
console.log(`built ${Object.keys(PAGES).join(", ")} into ${path.relative(process.cwd(), dist) || "."}`);
