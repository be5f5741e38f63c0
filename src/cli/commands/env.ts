import type { Command } from 'commander';
import { armpriorVersion } from '../../core/paths.js';
import { serveEnv } from '../../env-server/env-server.js';

/** `armprior env serve`: an armprior task for another process to step (issue #21). */
export function registerEnvCommand(program: Command): void {
  program
    .command('env')
    .description('an armprior task stepped from another language')
    .command('serve')
    .description(
      'serve one env over stdin/stdout, a JSON line per request and answer (src/env-server/env-protocol.ts): what the Python package in python/ (a Gymnasium env) starts and talks to',
    )
    .action(async () => {
      await serveEnv(process.stdin, process.stdout, armpriorVersion());
    });
}
