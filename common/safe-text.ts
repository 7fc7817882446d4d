// Text from file names made safe to show: in a terminal, a CSV report, a JSON report.
// Control characters (C0, DEL, C1) and bidirectional overrides in a file name would reach the
// terminal raw: ESC starts escape sequences (retitle the window, rewrite the screen), CR and LF
// forge or hide lines, U+202E reverses text. They are shown as visible escapes instead.
export const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `s` with every control character shown as an escape (`\x1b`, `\n`, `\u202e`): safe to print. */
export function terminalSafe(s: string): string {
  return s.replace(UNSAFE_CHARS, (c) => {
    const code = c.charCodeAt(0);
    return NAMED[c] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
  });
}

/** JSON with C1 controls and line/paragraph separators escaped too (JSON.stringify escapes only C0). */
export function safeJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(/[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

