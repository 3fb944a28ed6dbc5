#!/usr/bin/env node
/**
 * The `urb` executable (package.json `bin`). All the work is in run.ts, which tests and the
 * benchmark call directly.
 */
import { runCli } from "./run.js";

process.exitCode = await runCli(process.argv.slice(2));
