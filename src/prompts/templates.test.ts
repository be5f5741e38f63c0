import { describe, expect, it } from 'vitest';
import { TemplateError } from './errors.js';
import { fenced, loadTemplate, placeholdersOf, render } from './templates.js';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('render', () => {
  const template = { name: 'inline', text: 'Task {{taskName}}: {{ summary }}. Again {{taskName}}.' };

  it('fills every placeholder, repeated ones too, with spaces inside the braces allowed', () => {
    expect(render(template, { taskName: 'push', summary: 'move a cube' })).toBe(
      'Task push: move a cube. Again push.',
    );
  });

  it('names every placeholder that has no value', () => {
    const error = thrown(() => render(template, {})) as TemplateError;
    expect(error).toBeInstanceOf(TemplateError);
    expect(error.missing).toEqual(['taskName', 'summary']);
    expect(error.message).toContain("template 'inline'");
    expect(error.message).toContain('{{taskName}}');
    expect(error.message).toContain('{{summary}}');
  });

  it('names every value the template does not use', () => {
    const error = thrown(() =>
      render(template, { taskName: 'a', summary: 'b', extra: 'c', other: 'd' }),
    ) as TemplateError;
    expect(error).toBeInstanceOf(TemplateError);
    expect(error.unused).toEqual(['extra', 'other']);
    expect(error.missing).toEqual([]);
    expect(error.message).toMatch(/not used: extra, other/);
  });

  it('inserts values literally: a value holding {{…}} or $& is not expanded', () => {
    const out = render(
      { name: 't', text: 'code: {{code}} / {{name}}' },
      { code: 'x = "{{name}}" + "$&"', name: 'n' },
    );
    expect(out).toBe('code: x = "{{name}}" + "$&" / n');
  });

  it('refuses a malformed placeholder, naming its line', () => {
    const error = thrown(() => placeholdersOf({ name: 'bad', text: 'ok\n{{task name}}' })) as TemplateError;
    expect(error).toBeInstanceOf(TemplateError);
    expect(error.message).toMatch(/malformed placeholder near line 2/);
    expect(() => render({ name: 'bad', text: 'x {{a}' }, {})).toThrow(TemplateError);
  });

  it('fails with a TemplateError for a template file that does not exist', () => {
    expect(() => loadTemplate('no-such-template')).toThrow(TemplateError);
    expect(() => loadTemplate('no-such-template')).toThrow(/no-such-template\.md.*ENOENT/);
  });

  it('ships the templates with the placeholders the code fills', () => {
    expect(placeholdersOf(loadTemplate('system'))).toEqual([]);
    expect(placeholdersOf(loadTemplate('task'))).toEqual([
      'taskName',
      'summary',
      'frame',
      'taskNotes',
      'observationFields',
      'action',
      'episode',
    ]);
    expect(placeholdersOf(loadTemplate('guidelines')).sort()).toEqual(
      ['actionLayout', 'actionReturnExample', 'actionSize', 'helpersSource'].sort(),
    );
    expect(placeholdersOf(loadTemplate('feedback'))).toEqual(['previousCode', 'feedback', 'rolloutSummary']);
    expect(placeholdersOf(loadTemplate('correction'))).toEqual(['problem']);
  });
});

describe('fenced', () => {
  it('uses a fence longer than any backtick run in the code', () => {
    const code = 'const s = "```";\n';
    const block = fenced(code, 'javascript');
    expect(block.startsWith('````javascript\n')).toBe(true);
    expect(block.endsWith('\n````')).toBe(true);
    expect(fenced('x', 'js')).toBe('```js\nx\n```');
  });
});
