#!/usr/bin/env node
'use strict';
// The `atomicwriter` command; the code is in src/cli.ts (built to dist/cli.js).
require('../dist/cli.js').run();
