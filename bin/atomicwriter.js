#!/usr/bin/env node
'use strict';
// The `atomicwriter` command; the code is in src/cli/index.ts (built to dist/cli/index.js).
require('../dist/cli/index.js').run();
