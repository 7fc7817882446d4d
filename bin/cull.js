#!/usr/bin/env node
// `cull` entry point: the CLI is TypeScript run through tsx, so no build step stands between
// an edit and a run.
import { register } from 'tsx/esm/api';

register();
await import('../electron/cli.ts');
