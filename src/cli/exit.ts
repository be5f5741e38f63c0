import { CommanderError } from 'commander';
import { ArmpriorError } from '../core/errors.js';

/**
 * Exit codes: 0 ok, 1 unexpected failure (a bug), 2 bad input (usage, config, model, names, a
 * robot that does not match its config: `robot_mismatch`), 3 a robot fault (a run stopped on a
 * fault or without a confirmed stop, a robot that cannot be reached or stopped).
 */
export const ExitCode = { ok: 0, internal: 1, badInput: 2, robotFault: 3 } as const;

/** Error codes of failures on the robot path: the input was fine, the run or the robot was not. */
const ROBOT_FAULT_CODES = new Set(['run_fault', 'robot_failed', 'safe_stop_failed', 'actor_fault']);

/**
 * The one place errors become exit codes and messages. Errors armprior raises on purpose
 * ({@link ArmpriorError}, `BadInputError` among them) print one clear line (`armprior: <message>`);
 * anything else prints its stack, since it is a bug to report. That includes a RangeError: internal
 * invariants throw it too, and mapping it to bad input told users a bug was their mistake (issue #18).
 */
export function reportError(
  error: unknown,
  write: (text: string) => void = (t) => process.stderr.write(t),
): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.badInput;
  if (error instanceof ArmpriorError) {
    write(`armprior: ${error.message}\n`);
    return ROBOT_FAULT_CODES.has(error.code) ? ExitCode.robotFault : ExitCode.badInput;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  write(`armprior: unexpected error (please report it):\n${detail}\n`);
  return ExitCode.internal;
}

/**
 * Commander's message for a usage error (unknown command or option, a missing or invalid value)
 * as the one line armprior prints: what is wrong, then where to read the usage. Commander's own
 * `showHelpAfterError` printed 9–25 lines of help after it (issue #17 §4).
 */
export function usageErrorLine(commanderMessage: string, commandPath: string): string {
  const text = commanderMessage
    .replace(/^error:\s*/, '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join(' ');
  return `armprior: ${text}; see ${commandPath} --help\n`;
}
