// The net part's public surface, pinned: additions are deliberate, removals are breaking.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as net from '../../src/net/index.js';

test('src/net/index.ts exports exactly these names', () => {
  assert.deepEqual(Object.keys(net).sort(), [
    'AddressError', 'DEFAULT_HELPER', 'DEFAULT_LIMITS', 'EgressError', 'Gateway', 'NetDecider', 'answerDns', 'canonicalHost',
    'canonicalIp', 'cidrsName', 'classifyIp', 'denialBody', 'dnsServerResolver', 'formatHost', 'hostGlob', 'inspectFirstFlight',
    'nftRules', 'parseAuthority', 'parseCidr', 'parseHostHeader', 'parsePort', 'prepareNamespace', 'startEgress', 'startProxy',
    'staticResolver', 'systemResolver', 'toAuditEvent',
  ]);
});

test('the nftables ruleset the sandbox namespace gets (snapshot)', () => {
  assert.equal(net.nftRules(15001), `table inet cordon_egress {
  chain output {
    type nat hook output priority -100; policy accept;
    ip daddr 127.0.0.0/8 return
    ip6 daddr ::1 return
    meta l4proto tcp redirect to :15001
    meta l4proto udp udp dport 53 redirect to :53
  }
  chain leave {
    type filter hook output priority 0; policy accept;
    ct direction reply accept
    meta mark 0x636f7264 accept
    ip daddr 127.0.0.0/8 accept
    ip6 daddr ::1 accept
    meta l4proto tcp accept
    log group 4242 drop
  }
}
`);
});
