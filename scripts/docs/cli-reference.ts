/** docs/operations.md's command reference, from the CLI's own definitions (src/cli/help.ts). */
import {
  COMMANDS,
  EXAMPLES,
  FORMS,
  formsOf,
  optionLabel,
  optionMeaning,
  optionsOf,
} from '../../src/cli/help.js';
import { cell } from './markdown.js';

export function commandReference(): string {
  const global = FORMS.filter(
    (form) => form.usage.startsWith('-') || form.usage.startsWith('help'),
  );
  return [
    ...COMMANDS.map((command) => {
      const forms = formsOf(command);
      const options = optionsOf(forms);
      return [
        `### nova ${command}`,
        '',
        ...forms.map((form) => `- \`nova ${form.usage}\`: ${form.summary}`),
        ...(options.length
          ? [
              '',
              '| option | meaning |',
              '| --- | --- |',
              ...options.map((o) => `| \`${cell(optionLabel(o))}\` | ${cell(optionMeaning(o))} |`),
            ]
          : []),
        '',
        '```sh',
        ...(EXAMPLES[command] ?? []),
        '```',
      ].join('\n');
    }),
    [
      '### Everywhere',
      '',
      ...global.map((form) => `- \`nova ${form.usage}\`: ${form.summary}`),
    ].join('\n'),
  ].join('\n\n');
}
