#!/usr/bin/env node
// `npm install` runs this (postinstall): the start-up bundle (src/boot/) is built once, so the
// first `npm start` of a fresh clone is fast. It never fails the install: without a bundle,
// bin/gossamer.js builds one at its next start or runs the sources through tsx.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBundle } from '../src/boot/bundle.mjs';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const t0 = performance.now();
const dir = await ensureBundle(root);
if (dir) console.log(`gossamer: start-up bundle ready in ${dir} (${Math.round(performance.now() - t0)} ms)`);
