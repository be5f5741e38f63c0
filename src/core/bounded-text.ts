/**
 * Bounds on text that came from controller code (failure messages, rollout summaries) when it is
 * read back from disk (issue #17). The sandbox bounds what a controller can say today; files
 * written before that (an evaluation.json of 193 MB holding `throw 'E'.repeat(8 * 1024 * 1024)`
 * forty times) must still not become a 25 MB prompt or a 50 MB API answer.
 */

/** Characters kept of one line; a rollout summary's lines are well under 300. */
export const MAX_LINE_CHARS = 1_000;
/** Characters kept of one text (a summary has about a dozen lines). */
export const MAX_TEXT_CHARS = 8_000;

/**
 * `text` with every line cut to `maxLineChars` and the whole to about `maxChars` (a cut's marker
 * may pass it by a few dozen characters), each cut marked with how much was left out, so a reader
 * (or the LLM) sees that something was cut and where. Something of the text is always kept.
 */
export function boundText(text: string, maxChars = MAX_TEXT_CHARS, maxLineChars = MAX_LINE_CHARS): string {
  if (text.length <= Math.min(maxChars, maxLineChars)) return text;
  const lines: string[] = [];
  let used = 0;
  let start = 0;
  let cutShort = false;
  // Line by line with indexOf, never splitting the whole text: it may be hundreds of megabytes.
  for (;;) {
    const newline = text.indexOf('\n', start);
    const end = newline < 0 ? text.length : newline;
    const length = end - start;
    // A line longer than what is left of the budget is cut to fit it (the first line always
    // keeps something); after it, nothing more fits.
    const room = Math.min(maxLineChars, Math.max(maxChars - used, lines.length === 0 ? 1 : 0));
    if (length > room) {
      if (room > 0) lines.push(`${text.slice(start, start + room)}… [${length - room} characters cut]`);
      if (room < maxLineChars || used + room >= maxChars) {
        cutShort = newline >= 0;
        start = newline + 1;
        break;
      }
    } else {
      lines.push(text.slice(start, end));
    }
    used += Math.min(length, room) + 1;
    if (newline < 0) break;
    start = newline + 1;
  }
  const kept = lines.join('\n');
  if (!cutShort) return kept;
  return `${kept}${lines.length > 0 ? '\n' : ''}… [cut at ${maxChars} characters: ${text.length - start} more]`;
}

/**
 * A copy of a parsed JSON value with every string bounded by {@link boundText}: for records whose
 * strings may hold controller output (an evaluation.json's summary and abort reasons).
 */
export function boundStrings(value: unknown, maxChars = MAX_TEXT_CHARS): unknown {
  if (typeof value === 'string') return boundText(value, maxChars);
  if (Array.isArray(value)) return value.map((item) => boundStrings(item, maxChars));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, boundStrings(item, maxChars)]),
    );
  }
  return value;
}
