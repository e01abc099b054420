/** `nova COMMAND --help`: each command's forms, options and defaults, with an example. */
import { describe, expect, it } from 'vitest';
import { COMMANDS, commandHelp, EXAMPLES, USAGE } from '../../src/cli/help.js';

const commands = COMMANDS;

describe('nova COMMAND --help', () => {
  it('has an example for every command', () => {
    expect(commands.length).toBeGreaterThan(10);
    expect(commands.filter((command) => !EXAMPLES[command])).toEqual([]);
  });

  it.each(commands)('%s: its usage lines, with their defaults, and an example', (command) => {
    const help = commandHelp(USAGE, command) ?? '';
    expect(help).toMatch(new RegExp(`^ {2}${command}\\b`, 'm'));
    expect(help).toContain('Example:');
    // No other command's lines (`migrate` is not `migrate-sqlite`); examples start with `nova `.
    expect(help).not.toMatch(new RegExp(`^ {2}(?!${command}(?: |$)|nova )[a-z]`, 'm'));
  });
});
