// The agent-facing side of `cordon mcp wrap`: newline-delimited JSON-RPC on our stdin/stdout,
// implementing the SDK's Transport interface so the gateway core is transport-neutral.
//
// Why not the SDK's StdioServerTransport: it buffers a line without bound and drops unparsable
// lines with only an `onerror` callback. A gateway must answer malformed input with a JSON-RPC
// error and must bound memory, so framing is done here: lines longer than `maxMessageBytes` are
// discarded as they stream in (never buffered whole) and answered with a TOO_LARGE error; lines
// that are not JSON get a PARSE_ERROR; structurally invalid messages an INVALID_REQUEST.

import type { Readable, Writable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { classify, errorMessage, RPC } from './jsonrpc.js';

export interface StdioAgentOptions {
  stdin?: Readable;
  stdout?: Writable;
  /** Largest accepted message in bytes (default 4 MiB). */
  maxMessageBytes?: number;
  /** Called for each malformed message (after the error reply is sent), for audit. */
  onMalformed?: (code: number, message: string) => void;
  /** Called when the agent's input ends. */
  onEnd?: () => void;
}

export class StdioAgentTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private readonly stdin: Readable;
  private readonly stdout: Writable;
  private readonly max: number;
  private chunks: Buffer[] = [];
  private size = 0;
  private discarding = false;
  private closed = false;

  constructor(private readonly opts: StdioAgentOptions = {}) {
    this.stdin = opts.stdin ?? process.stdin;
    this.stdout = opts.stdout ?? process.stdout;
    this.max = opts.maxMessageBytes ?? 4 * 1024 * 1024;
  }

  async start(): Promise<void> {
    this.stdin.on('data', this.onData);
    this.stdin.on('end', this.onEnd);
    this.stdin.on('error', this.onStreamError);
    this.stdout.on('error', this.onStreamError);
  }

  private readonly onData = (chunk: Buffer) => {
    let from = 0;
    while (from < chunk.length) {
      const nl = chunk.indexOf(0x0a, from);
      const end = nl < 0 ? chunk.length : nl;
      if (!this.discarding) {
        const piece = chunk.subarray(from, end);
        if (this.size + piece.length > this.max) {
          // Too large: stop buffering now, skip to the end of the line, then reply once.
          this.discarding = true;
          this.chunks = [];
          this.size = 0;
        } else if (piece.length > 0) {
          this.chunks.push(piece);
          this.size += piece.length;
        }
      }
      if (nl < 0) break;
      if (this.discarding) {
        this.discarding = false;
        this.reject(RPC.TOO_LARGE, `message larger than the gateway limit of ${this.max} bytes; it was discarded`);
      } else {
        const line = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
        this.chunks = [];
        this.size = 0;
        this.handleLine(line);
      }
      from = nl + 1;
    }
  };

  private handleLine(line: Buffer): void {
    let text = line.toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.trim().length === 0) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      this.reject(RPC.PARSE_ERROR, `parse error: ${(e as Error).message}`);
      return;
    }
    const c = classify(parsed);
    if (c.type === 'invalid') {
      this.reject(c.code, `invalid request: ${c.message}`, c.id);
      return;
    }
    this.onmessage?.(parsed as JSONRPCMessage);
  }

  private reject(code: number, message: string, id: string | number | null = null): void {
    void this.send(errorMessage(id, code, message));
    this.opts.onMalformed?.(code, message);
  }

  // End of input is "the agent is done sending", not "stop answering": the gateway decides
  // how long to wait for replies still in flight before it closes.
  private readonly onEnd = () => {
    this.opts.onEnd?.();
    void this.close();
  };
  private readonly onStreamError = (e: Error) => {
    this.outputBroken = true;
    this.onerror?.(e);
    void this.close();
  };
  private outputBroken = false;

  // Messages sent in the same tick are written with one syscall: stdout to a pipe is a
  // synchronous write on Linux, so under load one write per message dominates the gateway's CPU.
  private queue: string[] = [];
  private flushing: Promise<void> | undefined;

  send(message: JSONRPCMessage): Promise<void> {
    if (this.outputBroken) return Promise.resolve();
    this.queue.push(JSON.stringify(message) + '\n');
    this.flushing ??= new Promise<void>((resolve) => {
      queueMicrotask(() => {
        const data = this.queue.length === 1 ? this.queue[0]! : this.queue.join('');
        this.queue = [];
        this.flushing = undefined;
        if (this.outputBroken) { resolve(); return; }
        if (this.stdout.write(data)) resolve();
        else this.stdout.once('drain', () => resolve());
      });
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stdin.off('data', this.onData);
    this.stdin.off('end', this.onEnd);
    this.stdin.pause();
    this.onclose?.();
  }
}
