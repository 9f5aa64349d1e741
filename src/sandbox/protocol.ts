// The control-socket protocol between `cordon run` and native/build/cordon-supervisor (fd 3).
// Frames: u32 little-endian payload length, then the payload: one type byte, then fields
// (u32 LE integers, strings as u32 length + UTF-8 bytes). The C side is native/src/proto.c;
// message types are listed once here and in native/src/main.c / notify.c.

/** Spec and answers (TS → C). */
export const TO_SUPERVISOR = {
  options: 'O', arg: 'A', env: 'E', cwd: 'C', writeRoot: 'W', protectedPath: 'P', go: 'G',
  answer: 'a', terminate: 'T', hold: 'H',
} as const;

/** Option bits of the 'O' message (native/src/sup.h OPT_*). */
export const OPT = {
  NEWNET: 1 << 0,
  DEGRADE_LANDLOCK: 1 << 1,
  DEGRADE_SYNC_WAKEUP: 1 << 2,
  TRAP_UNIX: 1 << 3,
  TRAP_SIGNAL: 1 << 4,
  DEGRADE_PTRACE_EXEC: 1 << 5,
  /** Fault injection (tests): the supervisor behaves as if the kernel had no Landlock. */
  FAULT_NO_LANDLOCK: 1 << 6,
  /** Node starts egress in the sandbox's network namespace before the command runs. */
  EGRESS: 1 << 7,
  /** Read-only opens left to Landlock grants (the read fast path). */
  READ_FASTPATH: 1 << 8,
} as const;

/** Answer decisions (native/src/sup.h ANS_*). */
export const ANS = { allow: 0, deny: 1, redirect: 2, trash: 3, absorb: 4 } as const;

export class FrameWriter {
  private parts: Buffer[] = [];
  private size = 0;
  constructor(type: string) {
    this.push(Buffer.from(type, 'latin1'));
  }
  private push(b: Buffer): this {
    this.parts.push(b);
    this.size += b.length;
    return this;
  }
  u8(v: number): this {
    return this.push(Buffer.from([v & 0xff]));
  }
  u32(v: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(v >>> 0, 0);
    return this.push(b);
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.u32(b.length).push(b);
  }
  frame(): Buffer {
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32LE(this.size, 0);
    return Buffer.concat([head, ...this.parts], this.size + 4);
  }
}

export class FrameReader {
  private off = 0;
  constructor(private readonly b: Buffer) {}
  get type(): string {
    return String.fromCharCode(this.b[0]!);
  }
  skipType(): this {
    this.off = 1;
    return this;
  }
  u32(): number {
    if (this.off + 4 > this.b.length) throw new Error('supervisor frame truncated');
    const v = this.b.readUInt32LE(this.off);
    this.off += 4;
    return v;
  }
  str(): string {
    const n = this.u32();
    if (this.off + n > this.b.length) throw new Error('supervisor frame truncated');
    const s = this.b.toString('utf8', this.off, this.off + n);
    this.off += n;
    return s;
  }
}

/** Splits a byte stream into frames. */
export class FrameSplitter {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer, onFrame: (f: Buffer) => void): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let off = 0;
    while (this.buf.length - off >= 4) {
      const n = this.buf.readUInt32LE(off);
      if (this.buf.length - off - 4 < n) break;
      onFrame(this.buf.subarray(off + 4, off + 4 + n));
      off += 4 + n;
    }
    this.buf = off === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(off);
  }
}
