/**
 * The text filters a step's pipeline may end with (`ip addr | grep inet`): grep, head, tail
 * and wc over the previous stage's output, as GNU grep and coreutils print them, for the
 * options the registry declares. cnmlab runs them itself in both modes, so a pipeline never
 * needs a shell and both modes filter the same text the same way.
 */
import { CommandOutput } from './registry';

const ok = (stdout: string, exitCode = 0): CommandOutput => ({ stdout, stderr: '', exitCode });

function lines(text: string): string[] {
  if (text === '') return [];
  const l = text.split('\n');
  if (l[l.length - 1] === '') l.pop();
  return l;
}

const POSIX_CLASSES: Record<string, string> = {
  digit: '0-9', alpha: 'A-Za-z', alnum: 'A-Za-z0-9', upper: 'A-Z', lower: 'a-z', space: ' \\t\\n\\r\\f\\v', blank: ' \\t', xdigit: '0-9A-Fa-f', punct: '!-\\/:-@\\[-`{-~',
};

/**
 * A POSIX regular expression as a JavaScript one. In a basic expression (grep without -E)
 * `( ) | { } + ?` are literal and their backslashed forms are the operators; `\<` `\>`
 * are GNU's word boundaries in both.
 */
export function posixToJs(pattern: string, extended: boolean): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '[') {
      const end = pattern.indexOf(']', pattern[i + 1] === ']' ? i + 2 : pattern[i + 1] === '^' && pattern[i + 2] === ']' ? i + 3 : i + 1);
      if (end < 0) throw new Error('Unmatched [, [^, [:, [., or [=');
      let body = pattern.slice(i + 1, end);
      let j = end;
      // A class like [[:digit:]] ends at the `]` after `:]`.
      while (/\[:[a-z]*:?$/.test(body) && pattern[j + 1] !== undefined) {
        const close = pattern.indexOf(']', j + 1);
        if (close < 0) break;
        body = pattern.slice(i + 1, close);
        j = close;
      }
      body = body.replace(/\[:([a-z]+):\]/g, (m, name: string) => POSIX_CLASSES[name] ?? m).replace(/\\/g, '\\\\');
      out += `[${body}]`;
      i = j;
    } else if (ch === '\\' && i + 1 < pattern.length) {
      const n = pattern[++i];
      if (n === '<' || n === '>') out += '\\b';
      else if (!extended && '(){}|+?'.includes(n)) out += n;
      else out += `\\${n}`;
    } else if (!extended && '(){}|+?'.includes(ch)) {
      out += `\\${ch}`;
    } else {
      out += ch;
    }
  }
  return out;
}

function grep(args: string[], input: string): CommandOutput {
  const opts = new Set<string>();
  let pattern: string | undefined;
  for (const a of args) {
    if (a.startsWith('-') && a.length > 1 && pattern === undefined) for (const ch of a.slice(1)) opts.add(ch);
    else pattern = a;
  }
  let re: RegExp;
  try {
    const source = opts.has('F') ? pattern!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : posixToJs(pattern!, opts.has('E'));
    re = new RegExp(source, opts.has('i') ? 'i' : '');
  } catch (e) {
    return { stdout: '', stderr: `cnmlab: grep: invalid pattern '${pattern}': ${(e as Error).message}\n`, exitCode: 2 };
  }
  const selected = lines(input).filter((l) => re.test(l) !== opts.has('v'));
  const status = selected.length ? 0 : 1;
  if (opts.has('q')) return ok('', status);
  if (opts.has('c')) return ok(`${selected.length}\n`, status);
  return ok(selected.map((l) => l + '\n').join(''), status);
}

/** `-n N`, `-nN` or `-N`; head's `-n -N` (all but the last N) too. */
function lineCount(args: string[]): number | string {
  let n = 10;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = a === '-n' ? args[++i] : a.startsWith('-n') ? a.slice(2) : /^-\d+$/.test(a) ? a.slice(1) : undefined;
    if (v === undefined || !/^-?\d+$/.test(v)) return `invalid number of lines: '${v ?? a}'`;
    n = Number(v);
  }
  return n;
}

function headTail(which: 'head' | 'tail', args: string[], input: string): CommandOutput {
  const n = lineCount(args);
  if (typeof n === 'string') return { stdout: '', stderr: `cnmlab: ${which}: ${n}\n`, exitCode: 1 };
  const all = lines(input);
  const kept = which === 'head' ? (n >= 0 ? all.slice(0, n) : all.slice(0, Math.max(0, all.length + n))) : all.slice(Math.max(0, all.length - Math.abs(n)));
  return ok(kept.map((l) => l + '\n').join(''));
}

/** coreutils wc on standard input: one count unpadded, several in columns of 7. */
function wc(args: string[], input: string): CommandOutput {
  const asked = new Set(args.flatMap((a) => [...a.slice(1)]));
  const counts: number[] = [];
  const all = asked.size === 0;
  if (all || asked.has('l')) counts.push((input.match(/\n/g) ?? []).length);
  if (all || asked.has('w')) counts.push(input.split(/\s+/).filter(Boolean).length);
  if (all || asked.has('c')) counts.push(Buffer.byteLength(input));
  const width = counts.length === 1 ? 1 : 7;
  return ok(counts.map((c) => String(c).padStart(width)).join(' ') + '\n');
}

/** Runs the filter `argv` (a registry `cnmlab` entry) over `input`. */
export function runFilter(argv: string[], input: string): CommandOutput {
  const [program, ...args] = argv;
  switch (program) {
    case 'grep':
      return grep(args, input);
    case 'head':
    case 'tail':
      return headTail(program, args, input);
    case 'wc':
      return wc(args, input);
    default:
      throw new Error(`${program} is not a text filter`);
  }
}
