// Public surface of the trust part: canonical JSON, Ed25519 keys, detached policy signatures,
// the trust store and the enforce / warn / off decision before a policy is loaded.
export { canonicalJson, CanonicalJsonError } from './canonical-json.js';
export { TrustError, type TrustErrorCode } from './errors.js';
export {
  generateKeyPairFiles, loadPrivateKey, loadPublicKey, parsePublicKey, keyIdOf, rawPublicKey, publicKeyFromRaw,
  type PublicKeyInfo, type PrivateKeyInfo, type GeneratedKey,
} from './keys.js';
