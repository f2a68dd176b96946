#!/usr/bin/env node
// Entry point of the `shaper` CLI. The CLI is TypeScript run through tsx's loader so a checkout
// works right after `npm ci`, with no build step.
import { register } from "tsx/esm/api";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
register();
await import("../local/cli.ts");
