// Splits chain files into lines without loading them whole: fixed-size reads, complete lines
// handed out as (buffer, start, end), the incomplete tail (if any) reported separately.
import { closeSync, openSync, readSync } from 'node:fs';

export const MAX_LINE_BYTES = 1 << 20;

export interface LineSink {
  /** A complete line: buf[start, end) excludes the newline; `offset` is its file offset. */
  line(buf: Buffer, start: number, end: number, offset: number, lineNo: number): boolean | void;
  /** A line longer than MAX_LINE_BYTES (skipped, not buffered). */
  overlong(offset: number, lineNo: number, length: number): boolean | void;
}

export interface ScanEnd {
  /** Bytes after the last newline (an incomplete last line), 0 if none. */
  tailBytes: number;
  tailOffset: number;
  lines: number;
  stopped: boolean;
}

/** Reads `file` line by line; a sink returning `false` stops the scan. */
export function scanLines(file: string, sink: LineSink, chunk = 4 << 20): ScanEnd {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(Math.max(chunk, MAX_LINE_BYTES + 1));
    let have = 0; // bytes in buf
    let fileOff = 0; // file offset of buf[0]
    let lineNo = 0;
    let skipping = -1; // >= 0: inside an overlong line that started at this offset
    for (;;) {
      if (have === buf.length) {
        // Buffer full without a newline: the line is overlong.
        if (skipping < 0) skipping = fileOff;
        fileOff += have;
        have = 0;
      }
      const n = readSync(fd, buf, have, buf.length - have, null);
      if (n === 0) break;
      let start = 0;
      const end = have + n;
      let nl = buf.indexOf(10, have);
      while (nl >= 0 && nl < end) {
        lineNo++;
        if (skipping >= 0) {
          const from = skipping;
          skipping = -1;
          if (sink.overlong(from, lineNo, fileOff + nl - from) === false) return { tailBytes: 0, tailOffset: 0, lines: lineNo, stopped: true };
        } else if (nl - start > MAX_LINE_BYTES) {
          if (sink.overlong(fileOff + start, lineNo, nl - start) === false) return { tailBytes: 0, tailOffset: 0, lines: lineNo, stopped: true };
        } else if (sink.line(buf, start, nl, fileOff + start, lineNo) === false) {
          return { tailBytes: 0, tailOffset: 0, lines: lineNo, stopped: true };
        }
        start = nl + 1;
        nl = start < end ? buf.indexOf(10, start) : -1;
        if (nl >= end) nl = -1;
      }
      // Keep the incomplete remainder at the front of the buffer.
      if (skipping >= 0) { fileOff += end; have = 0; continue; }
      if (start > 0) {
        buf.copy(buf, 0, start, end);
        fileOff += start;
      }
      have = end - start;
    }
    if (skipping >= 0) return { tailBytes: fileOff + have - skipping, tailOffset: skipping, lines: lineNo, stopped: false };
    return { tailBytes: have, tailOffset: fileOff, lines: lineNo, stopped: false };
  } finally {
    closeSync(fd);
  }
}
