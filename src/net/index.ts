// The net part: egress for sandboxed processes. Named exports only (pinned by
// test/net/public-exports.test.ts).
export { startEgress, startProxy, prepareNamespace, nftRules, EgressError, DEFAULT_HELPER } from './egress.js';
export type { Egress, EgressOptions, StartEgressOptions, Proxy } from './egress.js';
export { canonicalHost, canonicalIp, parseAuthority, parseHostHeader, parsePort, formatHost, AddressError } from './address.js';
export type { CanonicalHost, HostPort } from './address.js';
export { classifyIp, parseCidr, cidrsName } from './ssrf.js';
export type { SpecialClass, SpecialRange } from './ssrf.js';
export { staticResolver, dnsServerResolver, systemResolver } from './resolver.js';
export type { Resolver } from './resolver.js';
export { NetDecider, hostGlob } from './decide.js';
export type { Approver, NetTarget } from './decide.js';
export { Gateway, toAuditEvent } from './gateway.js';
export type { NetAuditEvent, NetAuditSink, Verdict, Via } from './gateway.js';
export { inspectFirstFlight } from './inspect.js';
export { answerDns } from './dns.js';
export { denialBody, DEFAULT_LIMITS } from './http-proxy.js';
export type { ProxyLimits } from './http-proxy.js';
