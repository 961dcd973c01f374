#!/usr/bin/env node
// Checks the shape of src/ that docs/architecture.md promises: no import cycles (type-only and
// dynamic imports included: a cycle of types still ties two modules' designs together), no file
// longer than MAX_FILE_LINES and no function longer than MAX_FUNCTION_LINES. Written by hand on
// the TypeScript compiler's own parser (already a dependency) because the cycle finders on npm
// drop type-only imports or need a build first. `node scripts/check-structure.mjs [--json]`;
// exits 1 and lists every violation when there is one.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const MAX_FILE_LINES = 600;
export const MAX_FUNCTION_LINES = 120;

const SOURCE = /\.(ts|mts)$/;

function listFiles(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(p));
    else if (SOURCE.test(entry.name) && !entry.name.endsWith('.d.mts') && !entry.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/** Every module specifier a file names: static, re-exported, type-only and dynamic imports. */
function specifiers(source) {
  const out = [];
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      out.push(node.arguments[0].text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      out.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

function resolve(from, spec, known) {
  if (!spec.startsWith('.')) return null;
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [base, base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), `${base}.ts`, path.join(base, 'index.ts')]) {
    if (known.has(candidate)) return candidate;
  }
  return null;
}

function functionName(node) {
  if (node.name) return node.name.getText();
  if (node.parent && ts.isVariableDeclaration(node.parent)) return node.parent.name.getText();
  if (node.parent && ts.isPropertyAssignment(node.parent)) return node.parent.name.getText();
  return '<anonymous>';
}

function longFunctions(file, source) {
  const out = [];
  const visit = (node) => {
    if (ts.isFunctionLike(node) && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.end).line;
      const lines = end - start + 1;
      if (lines > MAX_FUNCTION_LINES) out.push({ file, line: start + 1, name: functionName(node), lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** Tarjan's strongly connected components: every component of more than one module is a cycle. */
function cycles(graph) {
  let index = 0;
  const stack = [];
  const meta = new Map();
  const found = [];
  const strong = (v) => {
    meta.set(v, { index, low: index, onStack: true });
    index++;
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!meta.has(w)) {
        strong(w);
        meta.get(v).low = Math.min(meta.get(v).low, meta.get(w).low);
      } else if (meta.get(w).onStack) meta.get(v).low = Math.min(meta.get(v).low, meta.get(w).index);
    }
    if (meta.get(v).low === meta.get(v).index) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        meta.get(w).onStack = false;
        component.push(w);
      } while (w !== v);
      const selfLoop = (graph.get(v) ?? new Set()).has(v);
      if (component.length > 1 || selfLoop) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!meta.has(v)) strong(v);
  return found;
}

export function checkStructure(root) {
  const srcDir = path.join(root, 'src');
  const files = listFiles(srcDir);
  const known = new Set(files);
  const graph = new Map();
  const bigFiles = [];
  const functions = [];
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    const rel = path.relative(root, file);
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    if (lines > MAX_FILE_LINES) bigFiles.push({ file: rel, lines });
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const edges = new Set();
    for (const spec of specifiers(source)) {
      const target = resolve(file, spec, known);
      if (target) edges.add(path.relative(root, target));
    }
    graph.set(rel, edges);
    functions.push(...longFunctions(rel, source));
  }
  return { files: files.length, cycles: cycles(graph), bigFiles, longFunctions: functions };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const r = checkStructure(root);
  if (process.argv.includes('--json')) console.log(JSON.stringify(r, null, 2));
  else {
    console.log(`${r.files} files under src/`);
    for (const c of r.cycles) console.log(`modules in an import cycle: ${c.join(", ")}`);
    for (const f of r.bigFiles) console.log(`file over ${MAX_FILE_LINES} lines: ${f.file} (${f.lines})`);
    for (const f of r.longFunctions) console.log(`function over ${MAX_FUNCTION_LINES} lines: ${f.file}:${f.line} ${f.name} (${f.lines})`);
    if (!r.cycles.length && !r.bigFiles.length && !r.longFunctions.length) console.log('no import cycles, no oversized file or function');
  }
  process.exit(r.cycles.length || r.bigFiles.length || r.longFunctions.length ? 1 : 0);
}
