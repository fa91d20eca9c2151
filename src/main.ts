#!/usr/bin/env bun
/**
 * sense-events entry point: parses the command line and runs one command (reference §15).
 * Wiring of the receiver itself lives in src/run/service.ts.
 */
import { appenderXml } from "./cli/appender-xml.ts";
import { EXIT, parseArgs } from "./cli/args.ts";
import { checkConfig } from "./cli/check-config.ts";
import { helpText, usageErrorText, versionText } from "./cli/help.ts";
import { historyCommand } from "./cli/history.ts";
import { sendTestEvents } from "./cli/send-test-events.ts";
import { featureSummary } from "./config/features.ts";
import { defaultConfig, formatConfigIssue, loadConfigFile } from "./config/load.ts";
import type { Config } from "./config/schema.ts";
import { createLogger } from "./log.ts";
import { type Service, startService } from "./run/service.ts";
import { runServiceCommand } from "./service/command.ts";
import { VERSION } from "./version.ts";

const args = parseArgs(process.argv.slice(2));
const out = (line: string) => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`${line}\n`);

switch (args.command) {
  case "usage-error":
    process.stderr.write(usageErrorText(args.message));
    process.exit(EXIT.usage);
    break;
  case "help":
    process.stdout.write(helpText());
    break;
  case "version":
    out(versionText());
    break;
  case "appender-xml":
    process.stdout.write(appenderXml(args));
    break;
  case "check-config":
    process.exit(await checkConfig(args.configFile, { out, err }));
    break;
  case "send-test-events":
    try {
      await sendTestEvents({ ...args, out });
    } catch (error) {
      err(`send-test-events failed: ${(error as Error).message}`);
      process.exit(EXIT.runtime);
    }
    break;
  case "history":
    process.exit(await historyCommand(args, { out, err }));
    break;
  case "service":
    process.exit(await runServiceCommand(args));
    break;
  case "run":
    await run(args.configFile);
    break;
}

/** `sense-events [run] [-c FILE]`: starts the receiver and handles signals until shutdown. */
async function run(configFile: string | undefined): Promise<void> {
  let config: Config;
  let warnings: string[] = [];
  if (configFile === undefined) {
    config = defaultConfig();
  } else {
    const loaded = await loadConfigFile(configFile);
    if (!loaded.ok) {
      for (const issue of loaded.errors) err(formatConfigIssue(issue));
      process.exit(EXIT.config);
    }
    config = loaded.config;
    warnings = loaded.warnings;
  }
  const se = config["sense-events"];
  const log = createLogger({ level: se.log.level, format: se.log.format });
  log.info(`sense-events ${VERSION} starting with ${configFile ?? "the embedded default (no config file)"}`);
  for (const warning of warnings) log.warn(`[config] ${warning}`);
  log.info(`[config] ${featureSummary(config)}`);

  // Handlers go in before startup: a signal during startup must not hit the default action (exit 143/129).
  let service: Service | null = null;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn(`[main] second ${signal}: exiting at once`);
      process.exit(EXIT.runtime);
    }
    stopping = true;
    log.info(`[main] ${signal} received: shutting down`);
    // Received during startup: nothing is queued yet, so there is nothing to flush.
    if (service === null) process.exit(EXIT.ok);
    service.close().then(
      () => {
        log.info("[main] shutdown complete: outbox flushed");
        process.exit(EXIT.ok);
      },
      (error: Error) => {
        log.error(`[main] shutdown failed: ${error.message}`);
        process.exit(EXIT.runtime);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGHUP", () => {
    if (service === null || stopping) {
      log.warn("[config] SIGHUP ignored: the receiver is not running");
      return;
    }
    service.reload().then(
      (outcome) => log.info(`[config] SIGHUP reload: ${JSON.stringify(outcome.body)}`),
      (error: Error) => log.error(`[config] SIGHUP reload failed: ${error.message}`),
    );
  });

  try {
    service = await startService({ config, configFile: configFile ?? null, log });
  } catch (error) {
    err(`sense-events: ${(error as Error).message}`);
    process.exit(EXIT.runtime);
  }
}
