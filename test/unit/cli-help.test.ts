/** `nova COMMAND --help`: each command's forms, options and defaults, with an example. */
import { describe, expect, it } from 'vitest';
import {
  COMMANDS,
  commandHelp,
  EXAMPLES,
  FORMS,
  OPTIONS,
  type OptionName,
  optionsOf,
  usage,
} from '../../src/cli/help.js';

const commands = COMMANDS;

describe('nova COMMAND --help', () => {
  it('has an example for every command', () => {
    expect(commands.length).toBeGreaterThan(10);
    expect(commands.filter((command) => !EXAMPLES[command])).toEqual([]);
  });

  it.each(commands)('%s: its usage lines, with their defaults, and an example', (command) => {
    const help = commandHelp(command) ?? '';
    expect(help).toMatch(new RegExp(`^ {2}${command}\\b`, 'm'));
    expect(help).toContain('Example:');
    // No other command's lines (`migrate` is not `migrate-sqlite`); examples start with `nova `.
    expect(help).not.toMatch(new RegExp(`^ {2}(?!${command}(?: |$)|nova )[a-z]`, 'm'));
  });

  it('lists every option with its default in nova help, and each command its own', () => {
    const text = usage();
    const flat = text.replace(/\s+/g, ' ');
    for (const [name, option] of Object.entries(OPTIONS)) {
      expect(text).toMatch(new RegExp(`^ {2}--${name}\\b`, 'm'));
      if ('defaults' in option) expect(flat).toContain(`(default: ${option.defaults})`);
    }
    expect(commandHelp('bootstrap')).toMatch(/^ {2}--wait 60s +how long to wait/m);
    expect(commandHelp('bootstrap')?.replace(/\s+/g, ' ')).toContain('ready (default: 60s)');
    expect(commandHelp('bootstrap')).not.toContain('--url');
  });

  it('has no option that no form takes (help and version aside)', () => {
    const used = new Set<OptionName>(optionsOf(FORMS));
    expect(Object.keys(OPTIONS).filter((name) => !used.has(name as OptionName))).toEqual(['help']);
  });

  it('knows no command it has no help for', () => {
    expect(commandHelp('nonsense')).toBeUndefined();
  });
});
