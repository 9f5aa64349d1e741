// Text an agent controls (command lines, paths, rule messages) is shown on the approver's
// terminal. Raw control characters there could clear the screen, move the cursor and draw a
// fake prompt, or reorder text with bidi controls; so every character that is not plainly
// printable is shown as an escape (`\x1b`, `\u202e`) instead of being interpreted.
import { classifyCodePoint } from '../detect/index.js';

export function terminalSafe(s: string, maxLength = 2000): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp <= 0x9f)) {
      out += `\\x${cp.toString(16).padStart(2, '0')}`;
    } else if (cp === 0x2028 || cp === 0x2029 || classifyCodePoint(cp) !== undefined) {
      out += cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, '0')}`;
    } else {
      out += ch;
    }
    if (out.length > maxLength) return `${out.slice(0, maxLength)}… (truncated)`;
  }
  return out;
}
