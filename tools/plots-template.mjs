#!/usr/bin/env node
// Print tools/dvc-plots.html with its scripts inlined: a `dvc plots` page that is one file,
// to hand around as a workflow artifact (the template's relative script paths would break).
//
// usage: node tools/plots-template.mjs > build/dvc-plots-standalone.html
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const template = readFileSync(join(here, "dvc-plots.html"), "utf8");
const inlined = template.replace(/<script src="\.\.\/(node_modules\/[^"]+)"><\/script>/g, (_, path) => {
  // "</script" inside the code would end the element early.
  const code = readFileSync(join(here, "..", path), "utf8").replaceAll("</script", "<\\/script");
  return `<script>/* ${path} */\n${code}\n</script>`;
});
if (inlined === template) {
  console.error("plots-template: no script to inline in tools/dvc-plots.html");
  process.exit(2);
}
process.stdout.write(inlined);
