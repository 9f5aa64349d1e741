// OTLP export of committed entries with the official OpenTelemetry JS SDK: every event becomes a
// log record and a span; checkpoints (and close entries) become log records too, which gives a
// copy of the signed chain heads outside the host: compare it with the file to detect a tail cut
// off at an entry boundary. Export is best effort: the local chain is the record, and a failed
// export never fails an append (the SDK batches, retries and drops; errors go to stderr).
// Endpoint: OTLP/HTTP base URL (e.g. http://127.0.0.1:4318); /v1/logs and /v1/traces are appended.
import type { AuditEntry, AuditForwarder } from './types.js';

export interface OtlpOptions {
  endpoint: string;
  headers?: Record<string, string>;
  serviceName?: string;
  /** Export log records (default true) and spans (default true). */
  logs?: boolean;
  spans?: boolean;
}

export interface OtlpForwarder extends AuditForwarder {
  /** Sends everything buffered now (tests, shutdown). */
  flush(): Promise<void>;
}

type Attrs = Record<string, string | number | boolean>;

function attributesOf(e: AuditEntry, chain: string): Attrs {
  const x = e.x as Record<string, unknown> & { process?: { pid?: number; exe?: string } };
  const a: Attrs = { 'cordon.entry': e.k, 'cordon.seq': e.seq, 'cordon.chain': chain, 'cordon.mac': e.mac };
  const put = (k: string, v: unknown): void => { if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') a[k] = v; };
  put('cordon.kind', x.kind); put('cordon.operation', x.operation); put('cordon.subject', x.subject);
  put('cordon.decision', x.decision); put('cordon.rule', x.rule); put('cordon.message', x.message);
  put('cordon.session', x.session); put('cordon.policy_digest', x.policyDigest);
  put('process.pid', x.process?.pid); put('process.executable.path', x.process?.exe);
  if (e.k === 'checkpoint' || (e.k === 'close' && x.cp)) {
    const cp = x.cp as { d?: string; seq?: number; head?: string } | undefined;
    put('cordon.checkpoint.seq', cp?.seq); put('cordon.checkpoint.d', cp?.d); put('cordon.checkpoint.head', cp?.head);
    put('cordon.checkpoint.key_id', x.keyId); put('cordon.checkpoint.sig', x.sig);
  }
  if (x.fields && typeof x.fields === 'object') for (const [k, v] of Object.entries(x.fields)) put(`cordon.fields.${k}`, v);
  return a;
}

export async function otlpForwarder(o: OtlpOptions): Promise<OtlpForwarder> {
  const [{ LoggerProvider, BatchLogRecordProcessor }, { OTLPLogExporter }, { BasicTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }, api] = await Promise.all([
    import('@opentelemetry/sdk-logs'), import('@opentelemetry/exporter-logs-otlp-http'),
    import('@opentelemetry/sdk-trace-base'), import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'), import('@opentelemetry/api'),
  ]);
  const base = o.endpoint.replace(/\/+$/, '');
  const resource = resourceFromAttributes({ 'service.name': o.serviceName ?? 'cordon' });
  const headers = o.headers ?? {};
  const logs = o.logs === false ? null : new LoggerProvider({
    resource,
    processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${base}/v1/logs`, headers }), scheduledDelayMillis: 1000, maxQueueSize: 65536 })],
  });
  const traces = o.spans === false ? null : new BasicTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${base}/v1/traces`, headers }), { scheduledDelayMillis: 1000, maxQueueSize: 65536 })],
  });
  const logger = logs?.getLogger('cordon.audit');
  const tracer = traces?.getTracer('cordon.audit');

  return {
    write(entries, chain) {
      for (const e of entries) {
        if (e.k !== 'event' && e.k !== 'checkpoint' && e.k !== 'close') continue;
        const attributes = attributesOf(e, chain);
        const time = new Date(e.t);
        const x = e.x as { kind?: string; operation?: string; subject?: string; decision?: string };
        const deny = x.decision === 'deny';
        logger?.emit({
          timestamp: time,
          severityNumber: deny ? 13 : 9,
          severityText: deny ? 'WARN' : 'INFO',
          body: e.k === 'event' ? `${x.kind} ${x.operation} ${x.subject}${x.decision ? ` → ${x.decision}` : ''}` : `cordon audit ${e.k} ${e.seq}`,
          attributes,
        });
        if (tracer && e.k === 'event') {
          const span = tracer.startSpan(`cordon.${x.kind} ${x.operation}`, { startTime: time, attributes, kind: api.SpanKind.INTERNAL });
          if (deny) span.setStatus({ code: api.SpanStatusCode.ERROR, message: 'denied by policy' });
          span.end(time);
        }
      }
    },
    async flush() {
      await Promise.all([logs?.forceFlush(), traces?.forceFlush()]);
    },
    async close() {
      await Promise.all([logs?.shutdown(), traces?.shutdown()]);
    },
  };
}
