#!/usr/bin/env node
// The CLI is written in TypeScript; tsx compiles it on the fly so no build step is needed.
require('tsx/cjs');
require('../client/cli.ts')
  .main(process.argv)
  .catch((error) => {
    process.stderr.write(`gatehouse: ${error && error.message ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
