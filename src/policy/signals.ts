// Linux x86_64 signal names and agentsh's signal groups.

export const SIGNAL_NUMBERS: Readonly<Record<string, number>> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGIOT: 6, SIGBUS: 7, SIGFPE: 8,
  SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15,
  SIGSTKFLT: 16, SIGCHLD: 17, SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22,
  SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28, SIGIO: 29,
  SIGPOLL: 29, SIGPWR: 30, SIGSYS: 31,
};

export const SIGNAL_GROUPS: Readonly<Record<string, readonly number[]>> = {
  '@fatal': [9, 15, 3, 6],
  '@job': [19, 18, 20, 21, 22],
  '@reload': [1, 10, 12],
  '@ignore': [17, 23, 28],
  '@all': Array.from({ length: 31 }, (_, i) => i + 1),
  '@realtime': Array.from({ length: 31 }, (_, i) => i + 34),
};

/** Signal numbers a spec names (name with or without SIG, number, or group); undefined if unknown. */
export function resolveSignalSpec(spec: string | number): readonly number[] | undefined {
  if (typeof spec === 'number') return spec >= 1 && spec <= 64 ? [spec] : undefined;
  if (spec.startsWith('@')) return SIGNAL_GROUPS[spec];
  if (/^\d+$/.test(spec)) return resolveSignalSpec(Number(spec));
  const up = spec.toUpperCase();
  const n = SIGNAL_NUMBERS[up] ?? SIGNAL_NUMBERS[`SIG${up}`];
  return n === undefined ? undefined : [n];
}

export function signalName(n: number): string {
  for (const [k, v] of Object.entries(SIGNAL_NUMBERS)) if (v === n) return k;
  return `SIG${n}`;
}
