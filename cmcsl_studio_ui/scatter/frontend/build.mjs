// One-command build of the component frontend: `npm install && npm run build`.
// Bundles src/main.js (regl-scatterplot, d3-scale, streamlit-component-lib) into build/ with no CDN.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";

rmSync("build", { recursive: true, force: true });
mkdirSync("build", { recursive: true });
await build({
  entryPoints: ["src/main.js"],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  outfile: "build/main.js",
  legalComments: "none",
  logLevel: "info",
});
copyFileSync("src/main.css", "build/main.css");
copyFileSync("public/index.html", "build/index.html");
