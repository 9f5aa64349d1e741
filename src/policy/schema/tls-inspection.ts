import { z } from 'zod';

// Opt-in TLS inspection (src/net/tls-inspect.ts). Absent or `enabled: false`: hosts that
// http_rules govern are reachable only as plain HTTP through the forward proxy, and every
// tunnel to them (CONNECT, SOCKS5, captured) is refused with rule `http-rules-uninspectable`.
export const tlsInspectionSchema = z
  .strictObject({
    enabled: z.boolean().describe('Terminate TLS to hosts http_rules name with a per-session local CA, so each HTTPS request is decided by http_rules (default false). `cordon run --inspect-tls` sets it.'),
    upstream_ca: z
      .array(z.string().min(1))
      .optional()
      .describe('PEM files (absolute paths) of extra CAs trusted when Cordon verifies the real upstream, besides the system trust store (default none).'),
  })
  .describe('TLS inspection for hosts http_rules govern; off unless enabled.');
export type TlsInspection = z.infer<typeof tlsInspectionSchema>;
