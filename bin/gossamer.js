#!/usr/bin/env node
// Entry point of the `gossamer` command. The sources are TypeScript run through tsx, so
// `npm install` is the only set-up step: there is no build to forget or to go stale.
import { register } from 'tsx/esm/api';

register();
await import('../src/polyfill.ts');
await import('../src/cli/main.ts');
