/**
 * The cross-node invalidation of certificate statuses (src/invalidation/cross-node.ts): the
 * OCSP responses each node keeps and the client-certificate statuses, both keyed by issuer
 * and serial, evicted on every node before a revoke, hold or release returns.
 */
import type { InvalidationChannels, InvalidationTarget } from "../../invalidation/cross-node.js";

export const OCSP_INVALIDATION: InvalidationChannels = {
  invalidate: "ocsp_invalidate",
  ack: "ocsp_ack",
  applicationPrefix: "gov-ca-ocsp:",
  name: "OCSP",
};

/** A memory of certificate statuses (ResponseCache, CertificateStatusCache). */
export interface CertificateStatusMemory {
  enabled: boolean;
  evict(issuerId: string, serial: string): void;
  clear(): void;
}

export const certificateKey = (issuerId: string, serial: string): string => `${issuerId} ${serial}`;

/** The memory as an invalidation target: keys are "<issuer> <serial>". */
export function certificateStatusTarget(memory: CertificateStatusMemory): InvalidationTarget {
  return {
    get enabled() {
      return memory.enabled;
    },
    set enabled(value: boolean) {
      memory.enabled = value;
    },
    evict(key) {
      const [issuerId, serial] = key.split(" ");
      if (issuerId && serial) memory.evict(issuerId, serial);
    },
    clear: () => memory.clear(),
  };
}
