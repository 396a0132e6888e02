import { Parser } from 'htmlparser2';

// Their text is not what a reader sees.
const hiddenElements = new Set(['script', 'style', 'noscript', 'template', 'svg', 'math', 'iframe', 'object', 'canvas', 'head']);
const blockElements = new Set([
  'address', 'article', 'aside', 'blockquote', 'dd', 'details', 'dialog', 'div', 'dl', 'dt', 'fieldset', 'figcaption',
  'figure', 'footer', 'form', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header', 'hr', 'li', 'main', 'nav', 'ol', 'p', 'pre',
  'section', 'summary', 'table', 'tr', 'ul', 'caption', 'body', 'html',
]);
const paragraphElements = new Set(['p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'pre', 'table', 'ul', 'ol', 'section', 'article']);

/**
 * HTML to readable text: scripts, styles and other hidden parts dropped, entities decoded, block elements
 * on their own lines (paragraphs separated by a blank line for the chunker), list items bulleted, table
 * cells joined by ` | `. htmlparser2 is forgiving, so broken markup still yields its text.
 */
export function htmlToText(html: string): { text: string; title?: string } {
  let output = '';
  let hiddenDepth = 0;
  let inTitle = false;
  let title = '';
  let preDepth = 0;
  const newline = (count: 1 | 2) => {
    const trailing = /\n*$/.exec(output)![0].length;
    if (output.length > 0 && trailing < count) output += '\n'.repeat(count - trailing);
  };
  const parser = new Parser(
    {
      onopentag(name) {
        if (name === 'title') inTitle = true;
        if (hiddenElements.has(name)) hiddenDepth += 1;
        if (hiddenDepth > 0) return;
        if (name === 'pre') preDepth += 1;
        if (name === 'br') output += '\n';
        else if (paragraphElements.has(name)) newline(2);
        else if (blockElements.has(name)) newline(1);
        if (name === 'li') output += '- ';
        if ((name === 'td' || name === 'th') && !/(\n|^)$/.test(output)) output += ' | ';
      },
      ontext(text) {
        if (inTitle) title += text;
        if (hiddenDepth > 0) return;
        output += preDepth > 0 ? text : text.replace(/\s+/g, ' ');
      },
      onclosetag(name) {
        if (name === 'title') inTitle = false;
        if (hiddenElements.has(name)) {
          hiddenDepth = Math.max(0, hiddenDepth - 1);
          return;
        }
        if (hiddenDepth > 0) return;
        if (name === 'pre') preDepth = Math.max(0, preDepth - 1);
        if (paragraphElements.has(name)) newline(2);
        else if (blockElements.has(name)) newline(1);
      },
    },
    { decodeEntities: true, lowerCaseTags: true, recognizeSelfClosing: true },
  );
  parser.write(html);
  parser.end();
  const text = output
    .split('\n')
    .map((line) => line.replace(/[ \t\u00a0]+/g, ' ').trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  const cleanTitle = title.replace(/\s+/g, ' ').trim();
  return cleanTitle ? { text, title: cleanTitle } : { text };
}
