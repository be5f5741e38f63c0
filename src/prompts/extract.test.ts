import { describe, expect, it } from 'vitest';
import { ControllerCodeError } from './errors.js';
import { extractCode, findCodeBlocks } from './extract.js';

const ACT = 'export function act(obs, ctx) {\n  return [0, 0, 0];\n}\n';

function problem(reply: string): ControllerCodeError {
  try {
    extractCode(reply);
  } catch (error) {
    expect(error).toBeInstanceOf(ControllerCodeError);
    return error as ControllerCodeError;
  }
  throw new Error('expected extractCode to fail');
}

describe('extractCode', () => {
  it('takes the one JavaScript block, as written, out of the reply', () => {
    const reply = `Here is my plan: approach, then push.\n\n\`\`\`javascript\n${ACT}\`\`\`\n\nIt should work.`;
    const extracted = extractCode(reply);
    expect(extracted.code).toBe(ACT);
    expect(extracted.source).toBe(ACT);
    expect(extracted.language).toBe('javascript');
    expect(extracted.fenceLine).toBe(3);
    expect(extracted.exports).toEqual(['act']);
  });

  it('accepts js, untagged and ~~~ blocks, and ignores blocks in other languages', () => {
    expect(extractCode(`\`\`\`js\n${ACT}\`\`\``).code).toBe(ACT);
    expect(extractCode(`\`\`\`\n${ACT}\`\`\``).code).toBe(ACT);
    expect(extractCode(`~~~javascript\n${ACT}~~~`).code).toBe(ACT);
    const withOutput = `\`\`\`text\nsuccess 20/20\n\`\`\`\n\`\`\`js\n${ACT}\`\`\``;
    expect(extractCode(withOutput).code).toBe(ACT);
  });

  it('accepts other export forms of act: const arrow, export list, renamed', () => {
    expect(extractCode('```js\nexport const act = (obs) => [0, 0, 0];\n```').exports).toEqual(['act']);
    expect(extractCode('```js\nfunction act() { return [0, 0, 0]; }\nexport { act };\n```').exports).toEqual([
      'act',
    ]);
    expect(
      extractCode('```js\nfunction go() { return [0, 0, 0]; }\nexport { go as act };\n```').exports,
    ).toEqual(['act']);
  });

  it('keeps a block whose code contains a shorter fence', () => {
    const code = 'export function act() {\n  /*\n```\n  */\n  return [0, 0, 0];\n}\n';
    expect(extractCode(`\`\`\`\`js\n${code}\`\`\`\``).code).toBe(code);
  });

  it('transpiles a TypeScript block to a JavaScript module', () => {
    const ts = [
      'interface Memory { phase?: string }',
      'export function act(obs: Record<string, number[]>, ctx: { memory: Memory }): number[] {',
      "  const phase: string = ctx.memory.phase ?? 'approach';",
      '  return [phase.length > 0 ? 1 : 0, 0, 0] as number[];',
      '}',
    ].join('\n');
    const extracted = extractCode(`\`\`\`typescript\n${ts}\n\`\`\``);
    expect(extracted.language).toBe('typescript');
    expect(extracted.source).toContain('interface Memory');
    expect(extracted.code).toContain('function act(obs, ctx)');
    expect(extracted.exports).toEqual(['act']);
    expect(extracted.code).not.toMatch(/interface|: string|as number\[\]/);
    expect(extractCode(`\`\`\`ts\n${ts}\n\`\`\``).exports).toEqual(['act']);
  });

  it('says there is no code block when there is none', () => {
    const error = problem('I would move the gripper above the cube, then lower it.');
    expect(error.kind).toBe('no_code_block');
    expect(error.message).toMatch(/no fenced code block/);
  });

  it('names the language of blocks that are not JavaScript', () => {
    const error = problem('```python\ndef act(obs):\n    return [0, 0, 0]\n```');
    expect(error.kind).toBe('no_code_block');
    expect(error.message).toContain('```python');
  });

  it('refuses two code blocks, naming their lines', () => {
    const error = problem(`\`\`\`js\n${ACT}\`\`\`\nor:\n\`\`\`javascript\n${ACT}\`\`\``);
    expect(error.kind).toBe('several_code_blocks');
    expect(error.message).toMatch(/2 code blocks \(starting at lines 1, 7\)/);
  });

  it('refuses a block that is never closed (a reply cut off at the token limit)', () => {
    const error = problem('```js\nexport function act(obs, ctx) {\n  return [0,');
    expect(error.kind).toBe('unclosed_code_block');
    expect(error.message).toMatch(/line 1 of your reply is never closed/);
  });

  it("reports a syntax error with esbuild's message, its line and the line's text", () => {
    const error = problem('```js\nexport function act(obs, ctx) {\n  return [0, 0,;\n}\n```');
    expect(error.kind).toBe('syntax_error');
    expect(error.line).toBe(2);
    expect(error.message).toContain('Unexpected ";"');
    expect(error.message).toContain('line 2, column 16');
    expect(error.message).toContain('`return [0, 0,;`');
  });

  it('reports a TypeScript syntax error the same way', () => {
    const error = problem(
      '```ts\nexport function act(obs: number[]): number[] {\n  return obs.map((x =>;\n}\n```',
    );
    expect(error.kind).toBe('syntax_error');
    expect(error.message).toMatch(/your TypeScript code does not parse: .* at line 2/);
  });

  it('refuses a module without an act export, listing what it exports', () => {
    const none = problem('```js\nfunction act() { return [0, 0, 0]; }\n```');
    expect(none.kind).toBe('no_act_export');
    expect(none.message).toContain('it exports nothing');
    const wrong = problem(
      '```js\nexport default function act() { return [0, 0, 0]; }\nexport const gain = 2;\n```',
    );
    expect(wrong.kind).toBe('no_act_export');
    expect(wrong.message).toContain('it exports: default, gain');
  });

  it('refuses CommonJS and imports, without running anything', () => {
    expect(problem('```js\nmodule.exports.act = () => [0, 0, 0];\n```').kind).toBe('not_esm');
    const imports = problem(`\`\`\`js\nimport fs from 'fs';\n${ACT}\`\`\``);
    expect(imports.kind).toBe('imports');
    expect(imports.message).toContain("'fs' (import-statement)");
    const dynamic = problem(
      "```js\nexport function act() { import('node:child_process'); return [0, 0, 0]; }\n```",
    );
    expect(dynamic.kind).toBe('imports');
    expect(dynamic.message).toContain('dynamic-import');
  });
});

describe('findCodeBlocks', () => {
  it('reads fences as CommonMark does: indentation, info strings, longer closing fences', () => {
    const blocks = findCodeBlocks('  ```JavaScript title="x"\n  a\n   b\n  `````\n``` `not a fence`\n');
    expect(blocks).toEqual([{ language: 'javascript', code: 'a\n b\n', fenceLine: 1, closed: true }]);
  });
});
