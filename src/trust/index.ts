// Public surface of the trust part: canonical JSON, Ed25519 keys, detached policy signatures,
// the trust store and the enforce / warn / off decision before a policy is loaded.
export { canonicalJson, CanonicalJsonError } from './canonical-json.js';
export { TrustError, type TrustErrorCode } from './errors.js';
export {
  generateKeyPairFiles, loadPrivateKey, loadPublicKey, parsePublicKey, keyIdOf, rawPublicKey, publicKeyFromRaw,
  type PublicKeyInfo, type PrivateKeyInfo, type GeneratedKey,
} from './keys.js';
export { loadTrustStore, type TrustStore } from './trust-store.js';
export {
  signPolicyFile, signPolicyBytes, parseSignature, checkSignature, signatureFileFor, type PolicySignature,
} from './policy-signature.js';
export {
  verifyPolicyFile, resolveTrustSettings, TRUST_STORE_ENV, TRUST_MODE_ENV, TRUST_MODES,
  type TrustMode, type TrustResult, type TrustSettings, type VerifyPolicyOptions,
} from './verify-policy.js';
