/**
 * Routes authenticated by the TLS client certificate itself (mTLS listener, RFC 8705 §5)
 * rather than by an API key: declared `public` for the API-key check, they refuse every
 * request without a certificate that ClientCertificates accepts.
 */
import type { FastifyInstance } from "fastify";
import type { ServiceContext } from "../context.js";
import type { ClientCertificatePurpose, VerifiedClientCertificate } from "./client-certificate.js";
import { authenticateClientCertificate } from "./peer-certificate.js";

const problem = { $ref: "problem#" } as const;

const verifiedSchema = {
  type: "object",
  properties: {
    issuer: { type: "string" },
    serial: { type: "string" },
    subject: { type: "string", description: "RFC 4514" },
    subjectAltNames: {
      type: "array",
      items: { type: "object", properties: { type: { type: "string" }, value: { type: "string" } } },
    },
    ownerId: { type: ["string", "null"] },
    orgUnit: { type: ["string", "null"] },
    profile: { type: "string" },
    notBefore: { type: "string", format: "date-time" },
    notAfter: { type: "string", format: "date-time" },
    "x5t#S256": { type: "string", description: "RFC 8705 §3.1 certificate thumbprint" },
    spkiSha256: { type: "string" },
  },
} as const;

const view = (verified: VerifiedClientCertificate) => ({
  issuer: verified.issuerId,
  serial: verified.serial,
  subject: verified.subjectDn,
  subjectAltNames: verified.sans,
  ownerId: verified.ownerId,
  orgUnit: verified.orgUnit,
  profile: verified.profile,
  notBefore: verified.notBefore.toISOString(),
  notAfter: verified.notAfter.toISOString(),
  "x5t#S256": verified.x5tS256,
  spkiSha256: verified.spkiSha256,
});

export function clientCertificateRoutes(context: ServiceContext) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get<{ Querystring: { purpose: ClientCertificatePurpose } }>(
      "/api/v1/me/certificate",
      {
        config: { public: true }, // authenticated by the TLS client certificate, checked below
        schema: {
          tags: ["identity"],
          summary: "The TLS client certificate of this connection, as the service checks it",
          description:
            "Authenticated by the TLS client certificate: call it on the mTLS listener (CA_MTLS_PUBLIC_URL) " +
            "with a certificate this service issued. `purpose=user-login` also requires that the certificate " +
            "belongs to a directory user. Refusals are 401 problems whose code names the failed check.",
          security: [{ mutualTLS: [] }],
          querystring: {
            type: "object",
            additionalProperties: false,
            properties: { purpose: { enum: ["client-auth", "user-login"], default: "client-auth" } },
          },
          response: { 200: verifiedSchema, 400: problem, 401: problem },
        },
      },
      async (request, reply) => {
        reply.header("cache-control", "no-store");
        return view(
          await authenticateClientCertificate(request, context.clientCertificates, request.query.purpose),
        );
      },
    );
  };
}
