/**
 * Serving CRLs at the distribution-point URLs certificates carry: <issuer>.crl (DER,
 * application/pkix-crl, RFC 2585 §4.2), <issuer>.pem (PEM, "X509 CRL" label as OpenSSL
 * expects, RFC 7468 §6), and the same for <issuer>-delta. Caching follows the CRL: fresh
 * until nextUpdate (Cache-Control max-age and Expires), validated by ETag and Last-Modified.
 */
import type { FastifyInstance } from "fastify";
import type { ServiceContext } from "../../context.js";
import { notFound } from "../../errors.js";
import { encodePem } from "../../pki/pem.js";

const FILE = /^([a-z0-9][a-z0-9-]{0,62}?)(-delta)?\.(crl|pem)$/;

export function crlRoutes(context: ServiceContext) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get<{ Params: { file: string } }>(
      "/crl/:file",
      {
        config: { public: true },
        schema: {
          tags: ["revocation"],
          summary:
            "The current CRL of an issuer: <id>.crl (DER) or <id>.pem, and <id>-delta.crl / <id>-delta.pem",
          params: { type: "object", properties: { file: { type: "string", pattern: FILE.source } } },
        },
      },
      async (request, reply) => {
        const [, issuerId, delta, format] = FILE.exec(request.params.file)!;
        if (!context.issuers.find(issuerId!)) throw notFound(`CRL "${request.params.file}"`);
        const crl = await context.crls.current(issuerId!, delta ? "delta" : "full");
        if (!crl) throw notFound(`CRL "${request.params.file}" (not published yet)`);
        const etag = `"${crl.issuerId}-${crl.number}"`;
        const seconds = Math.max(
          0,
          Math.floor((crl.nextUpdate.getTime() - context.clock.now().getTime()) / 1000),
        );
        reply
          .header("cache-control", `public, max-age=${seconds}, no-transform, must-revalidate`)
          .header("expires", crl.nextUpdate.toUTCString())
          .header("last-modified", crl.thisUpdate.toUTCString())
          .header("etag", etag);
        const ifNoneMatch = request.headers["if-none-match"];
        const ifModifiedSince = request.headers["if-modified-since"];
        if (
          ifNoneMatch?.split(",").some((tag) => tag.trim() === etag || tag.trim() === "*") ||
          (!ifNoneMatch && ifModifiedSince && new Date(ifModifiedSince).getTime() >= crl.thisUpdate.getTime())
        )
          return reply.code(304).send();
        if (format === "crl") return reply.type("application/pkix-crl").send(crl.der);
        return reply.type("application/x-pem-file").send(encodePem("X509 CRL", crl.der));
      },
    );
  };
}
