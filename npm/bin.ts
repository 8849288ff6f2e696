#!/usr/bin/env node
// The npm package's `turn` command. Node 20 has no `import.meta.main`, so
// cli.ts cannot start itself there; this file only starts it.
import { main } from "../cli.ts";
import { reportError } from "../src/cli/view/error_report.ts";
import { runProgram } from "../src/cli/platform.ts";

await runProgram(main, reportError);
