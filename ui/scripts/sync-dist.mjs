// Copies a fresh build into ui/dist, touching only the files whose content changed and removing
// the ones the build no longer makes. The console embeds ui/dist at compile time and Cargo
// rebuilds it whenever a file there is newer, so an unchanged front end leaves the console's
// build untouched.
//   node scripts/sync-dist.mjs <fresh build folder> <dist folder>
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";

const [from, to] = process.argv.slice(2);
if (!from || !to) {
  console.error("usage: sync-dist.mjs <fresh build folder> <dist folder>");
  process.exit(2);
}

function files(root) {
  if (!existsSync(root)) return [];
  const out = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(root, path));
    }
  };
  walk(root);
  return out;
}

const digest = (path) => createHash("sha256").update(readFileSync(path)).digest("hex");

const fresh = new Set(files(from));
let changed = 0;
for (const file of fresh) {
  const target = join(to, file);
  if (existsSync(target) && digest(target) === digest(join(from, file))) continue;
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(join(from, file), target);
  changed += 1;
}
let removed = 0;
for (const file of files(to)) {
  if (!fresh.has(file)) {
    rmSync(join(to, file));
    removed += 1;
  }
}
rmSync(from, { recursive: true, force: true });
console.log(`ui/dist: ${changed} file(s) written, ${removed} removed, ${fresh.size - changed} unchanged`);
