// Asks on the controlling terminal, opened directly (`/dev/tty`): the sandboxed command owns
// stdin, and may have redirected it. The prompt reads one line in the terminal's normal
// (canonical, echoing) mode; only `y` / `yes` allows. Enter alone, `n`, anything else, EOF
// (Ctrl-D), an error or the deadline deny.
//
// libuv reopens a terminal before making it non-blocking, so reading here does not change the
// file status flags the sandboxed command sees on the same terminal.
//
// Scope, NOT covered: if a process of the sandboxed tree reads the same terminal while the
// prompt waits, the kernel hands each line to one reader; it may swallow the answer (which then
// times out to deny: fail closed). Making Cordon the foreground process group while prompting
// (tcsetpgrp) would stop that; Node cannot call it, the native supervisor could. Input typed
// before the prompt appeared is ignored (typeahead guard); TIOCSTI injection by the sandbox is
// the supervisor's static filter's job.
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { isatty, ReadStream } from 'node:tty';
import { terminalSafe } from './sanitize.js';
import type { ApprovalOutcome, ApprovalRequest } from './types.js';

export interface TtyPromptOptions {
  ttyPath: string;
  typeaheadGuardMs: number;
}

/** Opens the terminal, or returns a reason it cannot be used. */
function openTty(path: string): { readFd: number; writeFd: number } | string {
  let readFd = -1;
  try {
    readFd = openSync(path, constants.O_RDONLY | constants.O_NOCTTY);
    if (!isatty(readFd)) {
      closeSync(readFd);
      return `${path} is not a terminal`;
    }
    const writeFd = openSync(path, constants.O_WRONLY | constants.O_NOCTTY);
    return { readFd, writeFd };
  } catch (e) {
    if (readFd >= 0) try { closeSync(readFd); } catch { /* already failing */ }
    const err = e as NodeJS.ErrnoException;
    return `cannot open ${path} (${err.code ?? err.message}${err.code === 'ENXIO' ? ': no controlling terminal' : ''})`;
  }
}

function promptText(req: ApprovalRequest, timeoutMs: number): string {
  const secs = Math.max(1, Math.round(timeoutMs / 1000));
  const lines = [
    '',
    `cordon: approval needed (rule "${terminalSafe(req.rule, 200)}")`,
    `  ${terminalSafe(req.summary)}`,
  ];
  if (req.message) lines.push(`  ${terminalSafe(req.message)}`);
  return `${lines.join('\r\n')}\r\nAllow? [y/N] (denied in ${secs}s without an answer): `;
}

/**
 * Prompts once. Resolves to an outcome, or to a string saying why no terminal is available
 * (the broker then waits out the timeout: another approver could still answer).
 */
export function promptOnTty(req: ApprovalRequest, deadline: number, opts: TtyPromptOptions): Promise<ApprovalOutcome | string> {
  const t0 = Date.now();
  const tty = openTty(opts.ttyPath);
  if (typeof tty === 'string') return Promise.resolve(tty);
  const { readFd, writeFd } = tty;
  const say = (s: string) => {
    try { writeSync(writeFd, s); } catch { /* the terminal went away: the read side reports it */ }
  };

  return new Promise<ApprovalOutcome>((resolve) => {
    let settled = false;
    let stream: ReadStream | undefined;
    let timer: NodeJS.Timeout | undefined;
    const finish = (o: Omit<ApprovalOutcome, 'elapsedMs'>, note?: string) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      if (note) say(note);
      try { stream?.destroy(); } catch { /* closing anyway */ }
      if (!stream) try { closeSync(readFd); } catch { /* already closed */ }
      try { closeSync(writeFd); } catch { /* already closed */ }
      resolve({ ...o, elapsedMs: Date.now() - t0 });
    };
    try {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        finish({ decision: 'deny', reason: 'timeout', detail: 'timed out before the prompt could be shown' });
        return;
      }
      say(promptText(req, remaining));
      const shownAt = Date.now();
      timer = setTimeout(() => finish({ decision: 'deny', reason: 'timeout', detail: `no answer on ${opts.ttyPath} within the timeout` }, '\r\ncordon: no answer; denied.\r\n'), remaining);
      stream = new ReadStream(readFd);
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while (!settled && (nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (Date.now() - shownAt < opts.typeaheadGuardMs) {
            say('cordon: ignored input typed before the prompt appeared.\r\nAllow? [y/N] ');
            continue;
          }
          if (/^(y|yes)$/i.test(line)) finish({ decision: 'allow', reason: 'approved', channel: 'tty', detail: `approved on ${opts.ttyPath}` }, 'cordon: allowed.\r\n');
          else finish({ decision: 'deny', reason: 'denied_by_user', channel: 'tty', detail: line === '' ? `denied on ${opts.ttyPath} (default answer)` : `denied on ${opts.ttyPath}` }, 'cordon: denied.\r\n');
        }
        if (buf.length > 4096) buf = buf.slice(-4096); // a line that never ends cannot grow memory
      });
      stream.on('end', () => finish({ decision: 'deny', reason: 'eof', detail: `end of input on ${opts.ttyPath}` }, '\r\ncordon: end of input; denied.\r\n'));
      stream.on('error', (e) => finish({ decision: 'deny', reason: 'error', detail: `reading ${opts.ttyPath} failed: ${e.message}` }));
    } catch (e) {
      finish({ decision: 'deny', reason: 'error', detail: `prompt failed: ${(e as Error).message}` });
    }
  });
}
