import { z } from 'zod';
import { ruleBase } from './common.js';

const portSchema = z.union([
  z.number().int().min(0).max(65535),
  z.string().regex(/^\d{1,5}(-\d{1,5})?$/, 'a port is a number or a range like "8000-8100"'),
]);

export const networkRuleSchema = z.strictObject({
  ...ruleBase,
  domains: z.array(z.string().min(1)).optional().describe('Host globs: `example.com`, `*.example.com` (subdomains only), `*`.'),
  cidrs: z.array(z.string().min(1)).optional().describe('IPv4/IPv6 CIDRs or single addresses.'),
  ports: z.array(portSchema).optional().describe('Ports or ranges; absent means any port.'),
  protocols: z.array(z.enum(['tcp', 'udp'])).optional().describe('Absent means both.'),
});
export type NetworkRule = z.infer<typeof networkRuleSchema>;

export const connectRedirectSchema = z.strictObject({
  name: z.string().min(1).optional(),
  match: z.string().min(1).describe('`host:port` glob, e.g. `api.example.com:443`.'),
  redirect_to: z.string().min(1).describe('`host:port` the connection goes to instead.'),
  message: z.string().optional(),
});

export const dnsRedirectSchema = z.strictObject({
  name: z.string().min(1).optional(),
  match: z.string().min(1).describe('Host glob.'),
  redirect_ip: z.string().min(1).describe('Address answered instead.'),
  message: z.string().optional(),
});
