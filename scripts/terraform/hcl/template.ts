// Terraform JSON string values are templates. In native HCL the same template is written as a
// quoted string whose literal parts use HCL escapes, while `${...}` / `%{...}` sequences are copied
// as written (their nested string literals are already in HCL syntax). This module splits a JSON
// string into those parts and writes it back as an HCL expression.

export type TemplatePart = { kind: 'literal'; text: string } | { kind: 'interpolation' | 'directive'; text: string };

/** Index just past the `}` closing the sequence that opens at `start` (`${` or `%{`). */
function closeOf(s: string, start: number): number {
  let depth = 0;
  let i = start + 2;
  while (i < s.length) {
    const c = s[i];
    if (c === '"') {
      i = endOfQuoted(s, i);
      continue;
    }
    if (c === '{') depth++;
    if (c === '}') {
      if (depth === 0) return i + 1;
      depth--;
    }
    i++;
  }
  throw new Error(`unterminated template sequence at ${start} in ${JSON.stringify(s)}`);
}

/** Index just past the closing quote of the quoted string that opens at `start`, nested templates included. */
function endOfQuoted(s: string, start: number): number {
  let i = start + 1;
  while (i < s.length) {
    const c = s[i];
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (c === '"') return i + 1;
    if ((c === '$' || c === '%') && s[i + 1] === '{' && s[i - 1] !== c) {
      i = closeOf(s, i);
      continue;
    }
    i++;
  }
  throw new Error(`unterminated string at ${start} in ${JSON.stringify(s)}`);
}

export function parseTemplate(s: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let literal = '';
  let i = 0;
  while (i < s.length) {
    const two = s.slice(i, i + 2);
    const three = s.slice(i, i + 3);
    if (three === '$${' || three === '%%{') {
      // Escapes for a literal ${ / %{: identical in both syntaxes, kept as written.
      literal += three;
      i += 3;
    } else if (two === '${' || two === '%{') {
      if (literal) parts.push({ kind: 'literal', text: literal });
      literal = '';
      const end = closeOf(s, i);
      parts.push({ kind: two === '${' ? 'interpolation' : 'directive', text: s.slice(i, end) });
      i = end;
    } else {
      literal += s[i];
      i++;
    }
  }
  if (literal) parts.push({ kind: 'literal', text: literal });
  return parts;
}

function escapeLiteral(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out;
}

/** The expression inside a lone `${...}` (no strip markers), else undefined. */
export function soleInterpolation(s: string): string | undefined {
  const parts = parseTemplate(s);
  if (parts.length !== 1 || parts[0].kind !== 'interpolation') return undefined;
  const inner = parts[0].text.slice(2, -1);
  if (inner.startsWith('~') || inner.endsWith('~') || inner.includes('\n')) return undefined;
  return inner.trim();
}

/** Heredoc body for a multi-line literal-friendly string, when one represents it exactly. */
function heredoc(s: string, indent: string): string | undefined {
  if (!s.endsWith('\n') || s.includes('\r') || s.split('\n').length < 3) return undefined;
  let marker = 'EOT';
  for (let n = 0; s.split('\n').some((line) => line.trim() === marker); n++) marker = `EOT${n}`;
  // A heredoc body is a template without escapes: the JSON string's text, as it is.
  return `<<${marker}\n${s}${indent}${marker}`;
}

/** An HCL expression equal to the JSON string value `s` (a template). */
export function stringExpression(s: string, indent = ''): string {
  const sole = soleInterpolation(s);
  if (sole !== undefined) return sole;
  const parts = parseTemplate(s);
  if (parts.some((p) => p.kind !== 'literal' && p.text.includes('\n'))) {
    const doc = heredoc(s, indent);
    if (doc) return doc;
    throw new Error(
      `cannot write a template with a line break inside an interpolation: ${JSON.stringify(s).slice(0, 120)}`,
    );
  }
  const literalNewlines = parts.some((p) => p.kind === 'literal' && p.text.includes('\n'));
  if (literalNewlines) {
    const doc = heredoc(s, indent);
    if (doc) return doc;
  }
  return `"${parts.map((p) => (p.kind === 'literal' ? escapeLiteral(p.text) : p.text)).join('')}"`;
}

/** A reference written as a string in JSON (`"aws_x.y"` or `"${aws_x.y}"`), as a bare traversal. */
export function bareReference(s: string): string {
  const sole = soleInterpolation(s);
  const ref = sole ?? s;
  if (!/^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*|\[[^\]]+\])*$/.test(ref))
    throw new Error(`not a reference: ${JSON.stringify(s)}`);
  return ref;
}
