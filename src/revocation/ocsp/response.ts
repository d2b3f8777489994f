/**
 * OCSPResponse and BasicOCSPResponse (RFC 6960 §4.2.1), encoded with the DER writer:
 *
 *   OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED, responseBytes [0] EXPLICIT ResponseBytes OPTIONAL }
 *   ResponseBytes ::= SEQUENCE { responseType OBJECT IDENTIFIER (id-pkix-ocsp-basic), response OCTET STRING }
 *   BasicOCSPResponse ::= SEQUENCE { tbsResponseData ResponseData, signatureAlgorithm, signature BIT STRING,
 *                                    certs [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
 *   ResponseData ::= SEQUENCE { version [0] EXPLICIT DEFAULT v1, responderID ResponderID, producedAt GeneralizedTime,
 *                               responses SEQUENCE OF SingleResponse, responseExtensions [1] EXPLICIT Extensions OPTIONAL }
 *   SingleResponse ::= SEQUENCE { certID, certStatus, thisUpdate GeneralizedTime,
 *                                 nextUpdate [0] EXPLICIT GeneralizedTime OPTIONAL, singleExtensions [1] EXPLICIT OPTIONAL }
 *
 * Times are GeneralizedTime without fractional seconds (RFC 5280 §4.1.2.5.2, RFC 6960 §4.2.2.1).
 */
import {
  bitString,
  type Der,
  enumerated,
  explicit,
  generalizedTime,
  implicit,
  octetString,
  oid,
  sequence,
} from "../../pki/der.js";
import { extension } from "../../pki/extensions.js";
import { OID } from "../../pki/oids.js";
import { REASON_CODES } from "../reasons.js";

/** OCSPResponseStatus (RFC 6960 §4.2.1); 4 is not used. */
export const OCSP_STATUS = {
  successful: 0,
  malformedRequest: 1,
  internalError: 2,
  tryLater: 3,
  sigRequired: 5,
  unauthorized: 6,
} as const;
export type OcspErrorStatus = Exclude<keyof typeof OCSP_STATUS, "successful">;

/** An unsuccessful OCSPResponse is just its status: SEQUENCE { ENUMERATED }, no responseBytes. */
const ERROR_RESPONSES = new Map<OcspErrorStatus, Buffer>(
  (Object.keys(OCSP_STATUS) as (keyof typeof OCSP_STATUS)[])
    .filter((name): name is OcspErrorStatus => name !== "successful")
    .map((name) => [name, sequence(enumerated(OCSP_STATUS[name]))]),
);

export const errorResponse = (status: OcspErrorStatus): Buffer => ERROR_RESPONSES.get(status)!;

export type CertStatus =
  | { readonly kind: "good" }
  | { readonly kind: "revoked"; readonly time: Date; readonly reason: number | null }
  | { readonly kind: "unknown" };

/** CertStatus ::= CHOICE { good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo, unknown [2] IMPLICIT UnknownInfo } */
function encodeCertStatus(status: CertStatus): Der {
  switch (status.kind) {
    case "good":
      return implicit(0, Buffer.alloc(0));
    case "unknown":
      return implicit(2, Buffer.alloc(0));
    case "revoked":
      // RevokedInfo ::= SEQUENCE { revocationTime GeneralizedTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL }.
      // unspecified (0) is left out, as in CRL entries (RFC 5280 §5.3.1 SHOULD; CA/B BR §7.3).
      return implicit(
        1,
        Buffer.concat([
          generalizedTime(status.time),
          ...(status.reason && status.reason !== REASON_CODES.unspecified
            ? [explicit(0, enumerated(status.reason))]
            : []),
        ]),
        true,
      );
  }
}

export interface SingleResponseData {
  /** The CertID as it goes in the response (the request's own, or the canonical one). */
  readonly certId: Uint8Array;
  readonly status: CertStatus;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
}

export function encodeSingleResponse(single: SingleResponseData): Der {
  return sequence(
    single.certId,
    encodeCertStatus(single.status),
    generalizedTime(single.thisUpdate),
    explicit(0, generalizedTime(single.nextUpdate)),
  );
}

export interface ResponseDataFields {
  /** SHA-1 of the responder's subjectPublicKey bits: ResponderID byKey (RFC 6960 §4.2.2.3). */
  readonly responderKeyHash: Uint8Array;
  readonly producedAt: Date;
  readonly responses: readonly Der[];
  /** The request's nonce, echoed (RFC 8954 §2.1). */
  readonly nonce?: Buffer | undefined;
}

/** ResponseData, v1 (the DEFAULT, so no version field); responderID byKey [2] EXPLICIT KeyHash. */
export function encodeResponseData(fields: ResponseDataFields): Der {
  return sequence(
    explicit(2, octetString(fields.responderKeyHash)),
    generalizedTime(fields.producedAt),
    sequence(...fields.responses),
    ...(fields.nonce
      ? [explicit(1, sequence(extension(OID.ocspNonce, false, octetString(fields.nonce))))]
      : []),
  );
}

const RESPONSE_TYPE_BASIC = oid(OID.ocspBasic);

/**
 * BasicOCSPResponse around a signed ResponseData, with the responder's certificate in `certs`
 * (RFC 6960 §4.2.2.2: a delegated responder's certificate travels with the response), wrapped
 * in a successful OCSPResponse.
 */
export function encodeSuccessfulResponse(
  tbsResponseData: Der,
  signatureAlgorithm: Der,
  signature: Uint8Array,
  certificates: readonly Uint8Array[],
): Der {
  const basic = sequence(
    tbsResponseData,
    signatureAlgorithm,
    bitString(signature),
    explicit(0, sequence(...certificates)),
  );
  return sequence(
    enumerated(OCSP_STATUS.successful),
    explicit(0, sequence(RESPONSE_TYPE_BASIC, octetString(basic))),
  );
}
