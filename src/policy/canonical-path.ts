// Lexical canonicalisation of absolute paths: `.`/`..` segments and repeated or trailing
// slashes removed. The caller resolves symlinks (the kernel-side object); this only makes sure
// two spellings of one path get one decision. Returns undefined for a relative path.

export function canonicalPath(p: string): string | undefined {
  if (p.length === 0 || p.charCodeAt(0) !== 47 /* / */) return undefined;
  if (!needsWork(p)) return p;
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return `/${out.join('/')}`;
}

/** Fast check: does the path contain `//`, `/./`, `/../`, or end in `/`, `/.`, `/..`? */
function needsWork(p: string): boolean {
  const n = p.length;
  if (n > 1 && p.charCodeAt(n - 1) === 47) return true;
  if (p.indexOf('//') >= 0) return true;
  // Only a "/." can start a "." or ".." segment; dotfiles (/.ssh) are checked and pass.
  for (let i = p.indexOf('/.'); i >= 0; i = p.indexOf('/.', i + 2)) {
    const b = p.charCodeAt(i + 2);
    if (i + 2 === n || b === 47) return true;
    if (b === 46 && (i + 3 === n || p.charCodeAt(i + 3) === 47)) return true;
  }
  return false;
}
