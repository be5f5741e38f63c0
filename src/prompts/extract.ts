import { buildSync, type Message, transformSync } from 'esbuild';
import { ControllerCodeError } from './errors.js';

/** A fenced code block found in a reply. */
export interface CodeBlock {
  /** The info string's first word, lower-cased (`''` when untagged). */
  readonly language: string;
  readonly code: string;
  /** Reply line (1-based) of the opening fence. */
  readonly fenceLine: number;
  /** Whether a closing fence was found (a reply cut off at the token limit leaves it open). */
  readonly closed: boolean;
}

/** The controller module taken out of a reply. */
export interface ExtractedCode {
  /** The JavaScript ES module to run: the block as written, or the TypeScript block transpiled. */
  readonly code: string;
  /** The block as the model wrote it. */
  readonly source: string;
  readonly language: 'javascript' | 'typescript';
  /** Reply line (1-based) of the block's opening fence. */
  readonly fenceLine: number;
  /** The names the module exports (contains `act`). */
  readonly exports: readonly string[];
}

const JAVASCRIPT_TAGS = new Set(['', 'js', 'javascript', 'mjs']);
const TYPESCRIPT_TAGS = new Set(['ts', 'typescript']);

/**
 * Takes the one controller module out of an LLM reply, without running it:
 *
 * 1. exactly one fenced block tagged js / javascript / ts / typescript or untagged (blocks in
 *    other languages, say a `text` sample output, are ignored);
 * 2. TypeScript is transpiled by esbuild (`transformSync`, ESM); JavaScript is parsed by it;
 * 3. esbuild's metafile lists the module's imports and exports: no imports, and an `act` export.
 *
 * Throws {@link ControllerCodeError} naming the problem, worded so it can be sent back to the
 * model. The code is never spliced or rewritten with regexes (house style, anti-pattern 1).
 */
export function extractCode(reply: string): ExtractedCode {
  const blocks = findCodeBlocks(reply);
  const candidates = blocks.filter((b) => JAVASCRIPT_TAGS.has(b.language) || TYPESCRIPT_TAGS.has(b.language));
  if (candidates.length === 0) {
    const others = [...new Set(blocks.map((b) => b.language))];
    throw new ControllerCodeError(
      'no_code_block',
      others.length > 0
        ? `your reply has no JavaScript code block (only ${others.map((l) => `\`\`\`${l}`).join(', ')}); the controller must be one \`\`\`javascript block`
        : 'your reply has no fenced code block; the controller must be in one ```javascript block',
    );
  }
  if (candidates.length > 1) {
    throw new ControllerCodeError(
      'several_code_blocks',
      `your reply has ${candidates.length} code blocks (starting at lines ${candidates.map((b) => b.fenceLine).join(', ')}); put the whole module in exactly one block`,
    );
  }
  const block = candidates[0]!;
  if (!block.closed) {
    throw new ControllerCodeError(
      'unclosed_code_block',
      `the code block starting at line ${block.fenceLine} of your reply is never closed (the reply was probably cut off); send the complete module`,
    );
  }
  const language = TYPESCRIPT_TAGS.has(block.language) ? 'typescript' : 'javascript';
  return { ...checkControllerSource(block.code, language), fenceLine: block.fenceLine };
}

/**
 * Steps 2 and 3 of {@link extractCode} for a module that did not come in a reply (a person's
 * edit, `armprior prior add`): the code to run and its exports, or a {@link ControllerCodeError}.
 */
export function checkControllerSource(
  source: string,
  language: 'javascript' | 'typescript',
): Omit<ExtractedCode, 'fenceLine'> {
  const code = language === 'typescript' ? transpile(source) : checkSyntax(source);
  return { code, source, language, exports: checkModule(code) };
}

/**
 * Every fenced code block of a Markdown text, as CommonMark reads them: a fence is 3 or more
 * backticks or tildes indented at most 3 spaces, closed by a fence of the same character at least
 * as long; a block left open runs to the end of the text.
 */
export function findCodeBlocks(text: string): CodeBlock[] {
  const lines = text.split(/\r?\n/);
  const blocks: CodeBlock[] = [];
  let open: { fence: string; indent: number; language: string; line: number; body: string[] } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (open === undefined) {
      const start = /^( {0,3})(`{3,}|~{3,})(.*)$/.exec(line);
      // A backtick fence's info string cannot hold a backtick (then it is inline code).
      if (start && !(start[2]!.startsWith('`') && start[3]!.includes('`'))) {
        const language = (start[3]!.trim().split(/\s+/)[0] ?? '').toLowerCase();
        open = { fence: start[2]!, indent: start[1]!.length, language, line: i + 1, body: [] };
      }
      continue;
    }
    const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(line);
    if (close && close[1]![0] === open.fence[0] && close[1]!.length >= open.fence.length) {
      blocks.push({ language: open.language, code: joinBody(open.body), fenceLine: open.line, closed: true });
      open = undefined;
    } else {
      // CommonMark removes up to the opening fence's indentation from each content line.
      open.body.push(line.replace(new RegExp(`^ {0,${open.indent}}`), ''));
    }
  }
  if (open)
    blocks.push({ language: open.language, code: joinBody(open.body), fenceLine: open.line, closed: false });
  return blocks;
}

function joinBody(body: readonly string[]): string {
  return body.length === 0 ? '' : `${body.join('\n')}\n`;
}

function transpile(source: string): string {
  try {
    return transformSync(source, {
      loader: 'ts',
      format: 'esm',
      sourcefile: 'controller.ts',
      logLevel: 'silent',
    }).code;
  } catch (error) {
    throw syntaxError(error, 'TypeScript');
  }
}

/** Parses JavaScript (and returns it unchanged: the module runs as the model wrote it). */
function checkSyntax(source: string): string {
  try {
    transformSync(source, { loader: 'js', format: 'esm', sourcefile: 'controller.js', logLevel: 'silent' });
  } catch (error) {
    throw syntaxError(error, 'JavaScript');
  }
  return source;
}

/** Imports and exports of an ES module, from esbuild's metafile (a parse, not a run). */
function checkModule(code: string): string[] {
  const result = buildSync({
    stdin: { contents: code, loader: 'js', sourcefile: 'controller.js' },
    write: false,
    metafile: true,
    bundle: false,
    format: 'esm',
    platform: 'neutral',
    logLevel: 'silent',
  });
  const input = Object.values(result.metafile.inputs)[0];
  const output = Object.values(result.metafile.outputs)[0];
  if (input?.format === 'cjs') {
    throw new ControllerCodeError(
      'not_esm',
      'your module uses CommonJS (`module.exports` / `exports`); write an ES module: `export function act(obs, ctx) { … }`',
    );
  }
  const imports = output?.imports ?? [];
  if (imports.length > 0) {
    throw new ControllerCodeError(
      'imports',
      `your module imports ${imports.map((i) => `'${i.path}' (${i.kind})`).join(', ')}; a controller cannot import or require anything (vec, clamp and towards are already globals)`,
    );
  }
  const exports = output?.exports ?? [];
  if (!exports.includes('act')) {
    throw new ControllerCodeError(
      'no_act_export',
      `your module does not export a function named \`act\` (${exports.length > 0 ? `it exports: ${exports.join(', ')}` : 'it exports nothing'}); write \`export function act(obs, ctx) { … }\``,
    );
  }
  return exports;
}

function syntaxError(error: unknown, language: string): ControllerCodeError {
  const first: Message | undefined = (error as { errors?: Message[] }).errors?.[0];
  if (!first)
    return new ControllerCodeError('syntax_error', `your ${language} code does not parse`, { cause: error });
  const where = first.location;
  const more = ((error as { errors?: Message[] }).errors?.length ?? 1) - 1;
  const message = where
    ? `your ${language} code does not parse: ${first.text}, at line ${where.line}, column ${where.column + 1} of the code block: \`${where.lineText.trim()}\`${more > 0 ? ` (and ${more} more ${more === 1 ? 'error' : 'errors'})` : ''}`
    : `your ${language} code does not parse: ${first.text}`;
  return new ControllerCodeError(
    'syntax_error',
    message,
    where ? { line: where.line, cause: error } : { cause: error },
  );
}
