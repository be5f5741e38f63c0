/**
 * Text that came from untrusted code (a controller's error message) is cut to a size a person
 * can read before it is stored, printed or sent anywhere: one `throw 'E'.repeat(8 * 1024 * 1024)`
 * must not become a 193 MB evaluation.json or a 25 MB prompt (issue #17).
 */

/** The longest controller-originated message kept anywhere (characters). */
export const MAX_UNTRUSTED_TEXT_CHARS = 2000;

/**
 * `text` cut to at most `maxChars` characters (the marker included); a cut ends with how many
 * characters were left out, so a reader knows the message went on. Never splits a UTF-16
 * surrogate pair.
 */
export function boundText(text: string, maxChars = MAX_UNTRUSTED_TEXT_CHARS): string {
  if (text.length <= maxChars) return text;
  // The marker's number has at most as many digits as text.length.
  let end = Math.max(0, maxChars - ` … [${text.length} more characters cut]`.length);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--; // a high surrogate whose pair would be cut off
  return `${text.slice(0, end)} … [${text.length - end} more characters cut]`;
}
