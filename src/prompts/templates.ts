import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../core/paths.js';
import { TemplateError } from './errors.js';

/** A prompt template: text with named `{{placeholders}}`, and a name for error messages. */
export interface Template {
  readonly name: string;
  readonly text: string;
}

/** Values for a template's placeholders, by name. Every value is inserted as it is, never re-expanded. */
export type TemplateValues = Readonly<Record<string, string>>;

/** `{{name}}`, optionally with spaces inside the braces. */
const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g;

/** Folder of the `.md` templates. Resolved from the package root so the build (dist/) finds them too. */
export function templatesDir(): string {
  return join(packageRoot(), 'src', 'prompts', 'templates');
}

/**
 * Reads `src/prompts/templates/<name>.md` (`name` may hold a subfolder: `tasks/push`).
 * Throws {@link TemplateError} when the file is missing or has a malformed placeholder.
 */
export function loadTemplate(name: string): Template {
  const file = join(templatesDir(), `${name}.md`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new TemplateError(
      name,
      `cannot read ${file} (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`,
      {},
      { cause },
    );
  }
  const template = { name, text };
  placeholdersOf(template); // fail at load time on a malformed placeholder, not at first render
  return template;
}

/**
 * The placeholder names of a template, in order of first appearance. Throws
 * {@link TemplateError} on stray `{{` or `}}` (a typo such as `{{task Name}}` or `{{x}`), which
 * would otherwise reach the model as literal text.
 */
export function placeholdersOf(template: Template): string[] {
  const names: string[] = [];
  for (const match of template.text.matchAll(PLACEHOLDER)) {
    const name = match[1]!;
    if (!names.includes(name)) names.push(name);
  }
  const leftover = template.text.replace(PLACEHOLDER, '');
  const stray = /\{\{|\}\}/.exec(leftover);
  if (stray) {
    const line = lineOf(template.text, template.text.indexOf(stray[0]));
    throw new TemplateError(
      template.name,
      `malformed placeholder near line ${line}: placeholders are {{name}} with a letter first, then letters, digits or _`,
    );
  }
  return names;
}

/**
 * Fills every `{{name}}` of `template` with `values[name]`, in one pass: a value that itself
 * contains `{{…}}` (say, code from the model) is inserted literally, never expanded.
 *
 * Throws {@link TemplateError} listing every placeholder without a value and every value
 * without a placeholder: both are bugs that would otherwise send the model a broken prompt.
 */
export function render(template: Template, values: TemplateValues): string {
  const names = placeholdersOf(template);
  const given = Object.keys(values);
  const missing = names.filter((n) => !Object.hasOwn(values, n));
  const unused = given.filter((n) => !names.includes(n));
  if (missing.length > 0 || unused.length > 0) {
    const parts = [];
    if (missing.length > 0) parts.push(`no value for ${missing.map((n) => `{{${n}}}`).join(', ')}`);
    if (unused.length > 0) parts.push(`values given but not used: ${unused.join(', ')}`);
    throw new TemplateError(template.name, parts.join('; '), { missing, unused });
  }
  return template.text.replace(PLACEHOLDER, (_, name: string) => values[name]!);
}

/**
 * A fenced Markdown code block around `code`, with a fence longer than any run of backticks in
 * the code, so code that itself contains ``` cannot close the block early.
 */
export function fenced(code: string, language = ''): string {
  const longestRun = Math.max(0, ...[...code.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longestRun + 1));
  return `${fence}${language}\n${code.endsWith('\n') ? code : `${code}\n`}${fence}`;
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}
