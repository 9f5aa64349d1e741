// `extends:` merging, apart from the loader so the light entry points can export it without
// pulling the YAML parser and the schema in.
import type { Policy } from './schema/policy.js';

const LISTS = ['file_rules', 'network_rules', 'command_rules', 'unix_socket_rules', 'signal_rules', 'mcp_rules', 'tool_rules', 'http_rules', 'connect_redirects', 'dns_redirects'] as const;

/** The extending policy's rules come first, so it can override its base; settings merge key by key. */
export function mergePolicies(child: Policy, base: Policy): Policy {
  const out: Policy = { ...child };
  for (const l of LISTS) {
    const merged = [...(child[l] ?? []), ...(base[l] ?? [])];
    if (merged.length > 0) (out as Record<string, unknown>)[l] = merged;
  }
  if (child.defaults || base.defaults) out.defaults = { ...base.defaults, ...child.defaults };
  if (child.env_policy || base.env_policy) out.env_policy = { ...base.env_policy, ...child.env_policy };
  if (child.resource_limits || base.resource_limits) out.resource_limits = { ...base.resource_limits, ...child.resource_limits };
  if (child.tls_inspection || base.tls_inspection) out.tls_inspection = { ...base.tls_inspection, ...child.tls_inspection } as NonNullable<Policy['tls_inspection']>;
  delete out.extends;
  return out;
}
