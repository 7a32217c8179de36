import type { Command } from 'commander';
import { type Config, loadConfig } from '../core/index.ts';

/** Options every command inherits from the root: where the config file is. */
export interface GlobalOptions {
  config?: string;
}

/** Loads config for a command, with its own flags layered on top (`overrides` uses dotted keys). */
export function configFor(command: Command, overrides: Record<string, unknown> = {}): Config {
  const globals = command.optsWithGlobals<GlobalOptions>();
  return loadConfig({ file: globals.config, overrides });
}
