// Variable expansion in policy strings: ${NAME} and ${NAME:-fallback}; `$${` writes a literal
// `${`. An undefined variable without a fallback is an error, never an empty string: an empty
// expansion would turn `${PROJECT_ROOT}/**` into `/**`.

const GLOB_META = /[*?[\]{}\\]/g;

export class UndefinedVariableError extends Error {
  constructor(readonly variable: string) {
    super(`variable \${${variable}} is not defined; define it, or write \${${variable}:-fallback}`);
  }
}

/**
 * Expands variables in one string. `literalGlob` escapes glob metacharacters in substituted
 * values, so a variable always stands for a literal path, never a pattern.
 */
export function expandString(s: string, lookup: (name: string) => string | undefined, literalGlob: boolean): string {
  if (s.indexOf('$') < 0) return s;
  const [out] = expandFrom(s, 0, lookup, literalGlob, false);
  return out;
}

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

/** Scans from `i`; inside a fallback (`nested`) stops at the closing brace. Returns [text, end]. */
function expandFrom(s: string, i: number, lookup: (name: string) => string | undefined, literalGlob: boolean, nested: boolean): [string, number] {
  let out = '';
  while (i < s.length) {
    const c = s[i]!;
    if (nested && c === '}') return [out, i];
    if (c === '$' && s[i + 1] === '$' && s[i + 2] === '{') { out += '${'; i += 3; continue; }
    if (c === '$' && s[i + 1] === '{') {
      NAME.lastIndex = i + 2;
      const m = NAME.exec(s);
      if (!m) throw new VariableSyntaxError(s);
      const name = m[0];
      let j = i + 2 + name.length;
      let fallback: string | undefined;
      if (s.startsWith(':-', j)) {
        const [fb, end] = expandFrom(s, j + 2, lookup, literalGlob, true);
        fallback = fb;
        j = end;
      }
      if (s[j] !== '}') throw new VariableSyntaxError(s);
      const v = lookup(name);
      if (v === undefined && fallback === undefined) throw new UndefinedVariableError(name);
      // A fallback was expanded (and escaped) already; a looked-up value is escaped here.
      out += v === undefined ? fallback! : literalGlob ? v.replace(GLOB_META, '\\$&') : v;
      i = j + 1;
      continue;
    }
    out += c;
    i++;
  }
  if (nested) throw new VariableSyntaxError(s);
  return [out, i];
}

export class VariableSyntaxError extends Error {
  constructor(readonly text: string) {
    super(`"${text}" has a malformed variable reference; write \${NAME} or \${NAME:-fallback} (and $\${ for a literal \${)`);
  }
}

/** Keys whose string values are globs over paths or commands. */
const GLOB_KEYS = new Set(['paths', 'commands']);

export interface ExpansionFailure {
  path: (string | number)[];
  error: UndefinedVariableError | VariableSyntaxError;
}

/** Expands every string value in a parsed document in place; returns failures with their key paths. */
export function expandTree(root: unknown, lookup: (name: string) => string | undefined): ExpansionFailure[] {
  const failures: ExpansionFailure[] = [];
  const walk = (node: unknown, path: (string | number)[], literalGlob: boolean): unknown => {
    if (typeof node === 'string') {
      try {
        return expandString(node, lookup, literalGlob);
      } catch (e) {
        if (e instanceof UndefinedVariableError || e instanceof VariableSyntaxError) failures.push({ path, error: e });
        else throw e;
        return node;
      }
    }
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) node[i] = walk(node[i], [...path, i], literalGlob);
      return node;
    }
    if (node !== null && typeof node === 'object') {
      const obj = node as Record<string, unknown>;
      for (const k of Object.keys(obj)) obj[k] = walk(obj[k], [...path, k], GLOB_KEYS.has(k));
      return node;
    }
    return node;
  };
  walk(root, [], false);
  return failures;
}
