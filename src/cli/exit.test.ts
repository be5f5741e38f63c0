import { describe, expect, it } from 'vitest';
import { BadInputError } from '../core/errors.js';
import { ExitCode, reportError } from './exit.js';

/** What reportError prints and returns for one error. */
function report(error: unknown): { code: number; text: string } {
  let text = '';
  const code = reportError(error, (t) => {
    text += t;
  });
  return { code, text };
}

describe('reportError', () => {
  it('reports bad input as one clear line, exit 2', () => {
    const { code, text } = report(new BadInputError("--llm must be 'endpoint' or 'replay', got 'x'"));
    expect(code).toBe(ExitCode.badInput);
    expect(text).toBe("armprior: --llm must be 'endpoint' or 'replay', got 'x'\n");
  });

  it('reports a RangeError from a bug as a bug, with its stack, exit 1 (issue #18)', () => {
    const bug = (() => {
      try {
        new Array(-1);
      } catch (error) {
        return error;
      }
      throw new Error('new Array(-1) did not throw');
    })();
    expect(bug).toBeInstanceOf(RangeError);
    const { code, text } = report(bug);
    expect(code).toBe(ExitCode.internal);
    expect(text).toMatch(
      /^armprior: unexpected error \(please report it\):\nRangeError: Invalid array length\n\s+at /,
    );
    expect(text).toContain('exit.test.ts');
  });
});
