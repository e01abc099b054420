/** A Markdown table cell's text: its pipes escaped, so they do not end the cell. */
export const cell = (text: string) => text.replace(/\|/g, '\\|');
