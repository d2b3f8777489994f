/**
 * The real peers the interoperability suites check our certificates against: OpenSSL
 * (`openssl verify`, `openssl req`), GnuTLS (`certtool --verify-chain`) and pyca/cryptography
 * (the Debian python3-cryptography, run by /usr/bin/python3). Each runs with execFile (no
 * shell) in a temporary directory of its own. A missing tool is an error, never a skip:
 * the suites fail loudly when a peer is not installed.
 *
 * A peer that rejects a certificate is not an error here: the helpers report `ok: false`
 * with the peer's own output, so a test can assert acceptance (and negative controls can
 * assert rejection).
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The interpreter that has the Debian python3-cryptography (a pyenv `python3` may not). */
export const PYTHON = process.env.INTEROP_PYTHON || "/usr/bin/python3";

const PACKAGES: Record<string, string> = {
  openssl: "the Debian package openssl",
  certtool: "the Debian package gnutls-bin",
  ocsptool: "the Debian package gnutls-bin",
};
const PYTHON_PACKAGES = "the Debian packages python3 and python3-cryptography";

export class PeerMissingError extends Error {
  override readonly name = "PeerMissingError";
}

export interface PeerRun {
  readonly command: string;
  /** Exit status (null when killed by a signal). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const packageFor = (tool: string): string =>
  PACKAGES[tool] ?? (/python/.test(tool) ? PYTHON_PACKAGES : `the package providing ${tool}`);

/** Runs one peer; resolves whatever its exit status, rejects only when it cannot run. */
export function runPeer(
  tool: string,
  args: readonly string[],
  cwd: string,
  timeoutMs = 60_000,
): Promise<PeerRun> {
  const command = [tool, ...args].join(" ");
  return new Promise((resolve, reject) => {
    execFile(
      tool,
      args,
      {
        cwd,
        timeout: timeoutMs,
        maxBuffer: 16 * 1024 * 1024,
        encoding: "utf8",
        env: { ...process.env, LC_ALL: "C" },
      },
      (error, stdout, stderr) => {
        if (error && (error as NodeJS.ErrnoException).code === "ENOENT")
          return reject(
            new PeerMissingError(`${tool} is not installed or not on PATH: install ${packageFor(tool)}`),
          );
        if (error && typeof error.code !== "number")
          return reject(
            new Error(
              `${command} did not finish (${error.signal ?? error.code ?? error.message})\n${stderr}`,
            ),
          );
        resolve({ command, code: error ? (error.code as unknown as number) : 0, stdout, stderr });
      },
    );
  });
}

async function inTempDir<T>(work: (directory: string) => Promise<T>): Promise<T> {
  const directory = await mkdtemp(join(tmpdir(), "ca-interop-"));
  try {
    return await work(directory);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

const joinPems = (pems: readonly string[]): string =>
  pems.map((pem) => (pem.endsWith("\n") ? pem : `${pem}\n`)).join("");

export interface VerifyResult extends PeerRun {
  readonly ok: boolean;
  /** What the peer printed, stdout and stderr together, for assertion messages. */
  readonly output: string;
}

export interface OpensslVerifyOptions {
  /** `-purpose`: sslclient, sslserver, smimesign, smimeencrypt, ocsphelper, any… */
  readonly purpose?: string;
  /** `-x509_strict` (RFC 5280 checks without compatibility work-arounds); on by default. */
  readonly strict?: boolean;
  readonly verifyHostname?: string;
  readonly verifyEmail?: string;
  readonly verifyIp?: string;
}

export interface OpensslVerifyResult extends VerifyResult {
  /** The chain OpenSSL built (`-show_chain`), leaf first, as it prints the subjects. */
  readonly chain: readonly string[];
}

/**
 * `openssl verify -CAfile root -untrusted chain leaf`, trusting only `rootPem` (no default
 * CA path or store).
 */
export async function opensslVerify(
  rootPem: string,
  chainPems: readonly string[] | string,
  leafPem: string,
  options: OpensslVerifyOptions = {},
): Promise<OpensslVerifyResult> {
  return inTempDir(async (directory) => {
    const chain = typeof chainPems === "string" ? [chainPems] : chainPems;
    await writeFile(join(directory, "root.pem"), rootPem);
    await writeFile(join(directory, "leaf.pem"), leafPem);
    if (chain.length) await writeFile(join(directory, "untrusted.pem"), joinPems(chain));
    const args = [
      "verify",
      "-no-CApath",
      "-no-CAstore",
      "-CAfile",
      "root.pem",
      ...(chain.length ? ["-untrusted", "untrusted.pem"] : []),
      ...(options.strict === false ? [] : ["-x509_strict"]),
      ...(options.purpose ? ["-purpose", options.purpose] : []),
      ...(options.verifyHostname ? ["-verify_hostname", options.verifyHostname] : []),
      ...(options.verifyEmail ? ["-verify_email", options.verifyEmail] : []),
      ...(options.verifyIp ? ["-verify_ip", options.verifyIp] : []),
      "-show_chain",
      "leaf.pem",
    ];
    const result = await runPeer("openssl", args, directory);
    const output = `${result.stdout}${result.stderr}`;
    const chainLines = [...result.stdout.matchAll(/^depth=\d+: (.*?)(?: \(untrusted\))?$/gm)].map(
      (match) => match[1]!,
    );
    return {
      ...result,
      ok: result.code === 0 && /^leaf\.pem: OK$/m.test(result.stdout),
      output,
      chain: chainLines,
    };
  });
}

export interface CerttoolVerifyOptions {
  /** `--verify-purpose` OID, e.g. 1.3.6.1.5.5.7.3.1 for TLS server authentication. */
  readonly purpose?: string;
  readonly hostname?: string;
  readonly email?: string;
  /** `--verify-profile` (GnuTLS security level); "medium" by default. */
  readonly profile?: string;
}

/**
 * `certtool --verify-chain`: the bundle is leaf first, each certificate followed by its
 * issuer, ending with the self-signed root (the only one trusted).
 */
export async function certtoolVerifyChain(
  pemBundle: string,
  options: CerttoolVerifyOptions = {},
): Promise<VerifyResult> {
  return inTempDir(async (directory) => {
    await writeFile(join(directory, "bundle.pem"), pemBundle);
    const args = [
      "--verify-chain",
      `--verify-profile=${options.profile ?? "medium"}`,
      ...(options.purpose ? [`--verify-purpose=${options.purpose}`] : []),
      ...(options.hostname ? [`--verify-hostname=${options.hostname}`] : []),
      ...(options.email ? [`--verify-email=${options.email}`] : []),
      "--infile",
      "bundle.pem",
    ];
    const result = await runPeer("certtool", args, directory);
    const output = `${result.stdout}${result.stderr}`;
    return {
      ...result,
      ok: result.code === 0 && /^Chain verification output: Verified\./m.test(result.stdout),
      output,
    };
  });
}

/** `certtool --verify` of a chain against an explicitly trusted root (`--load-ca-certificate`). */
export async function certtoolVerify(
  rootPem: string,
  chainPem: string,
  options: CerttoolVerifyOptions = {},
): Promise<VerifyResult> {
  return inTempDir(async (directory) => {
    await writeFile(join(directory, "root.pem"), rootPem);
    await writeFile(join(directory, "chain.pem"), chainPem);
    const args = [
      "--verify",
      "--load-ca-certificate",
      "root.pem",
      `--verify-profile=${options.profile ?? "medium"}`,
      ...(options.purpose ? [`--verify-purpose=${options.purpose}`] : []),
      ...(options.hostname ? [`--verify-hostname=${options.hostname}`] : []),
      ...(options.email ? [`--verify-email=${options.email}`] : []),
      "--infile",
      "chain.pem",
    ];
    const result = await runPeer("certtool", args, directory);
    const output = `${result.stdout}${result.stderr}`;
    return {
      ...result,
      ok: result.code === 0 && /^Chain verification output: Verified\./m.test(result.stdout),
      output,
    };
  });
}

export type OpensslKeyType = "rsa2048" | "rsa3072" | "p256" | "p384" | "ed25519";

/** `openssl req` arguments for a new key of each type. */
export const NEWKEY: Record<OpensslKeyType, readonly string[]> = {
  rsa2048: ["-newkey", "rsa:2048"],
  rsa3072: ["-newkey", "rsa:3072"],
  p256: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
  p384: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
  ed25519: ["-newkey", "ed25519"],
};

export interface OpensslCsrOptions {
  readonly commonName?: string;
  /** subjectAltName in OpenSSL's syntax, e.g. "DNS:a.example,IP:10.0.0.1". */
  readonly subjectAltName?: string;
  /** Sign the request with RSASSA-PSS (OpenSSL's defaults: SHA-256, maximal salt). */
  readonly pss?: boolean;
  /** `-<digest>` for the request signature, e.g. "sha384". */
  readonly digest?: string;
}

/** A fresh key and PKCS#10 request made by `openssl req` (the private key stays with the caller). */
export async function opensslCsr(
  key: OpensslKeyType,
  options: OpensslCsrOptions = {},
): Promise<{ csrPem: string; keyPem: string }> {
  return inTempDir(async (directory) => {
    // A minimal configuration, so the distribution's openssl.cnf adds nothing to the request.
    await writeFile(
      join(directory, "req.cnf"),
      "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = x\n",
    );
    const args = [
      "req",
      "-config",
      "req.cnf",
      "-new",
      ...NEWKEY[key],
      "-nodes",
      "-keyout",
      "key.pem",
      "-out",
      "csr.pem",
      "-subj",
      `/CN=${options.commonName ?? "openssl-peer"}`,
      ...(options.subjectAltName ? ["-addext", `subjectAltName=${options.subjectAltName}`] : []),
      ...(options.digest ? [`-${options.digest}`] : []),
      ...(options.pss ? ["-sigopt", "rsa_padding_mode:pss"] : []),
    ];
    const result = await runPeer("openssl", args, directory);
    if (result.code !== 0) throw new Error(`${result.command} failed (${result.code}):\n${result.stderr}`);
    return {
      csrPem: await readFile(join(directory, "csr.pem"), "utf8"),
      keyPem: await readFile(join(directory, "key.pem"), "utf8"),
    };
  });
}

const CERTTOOL_KEY: Record<OpensslKeyType, readonly string[]> = {
  rsa2048: ["--key-type", "rsa", "--bits", "2048"],
  rsa3072: ["--key-type", "rsa", "--bits", "3072"],
  p256: ["--key-type", "ecdsa", "--curve", "secp256r1"],
  p384: ["--key-type", "ecdsa", "--curve", "secp384r1"],
  ed25519: ["--key-type", "ed25519"],
};

export interface CerttoolCsrOptions {
  readonly commonName?: string;
  readonly dnsNames?: readonly string[];
  readonly emails?: readonly string[];
}

/**
 * A fresh key and PKCS#10 request made by `certtool --generate-request`. The request is
 * returned as certtool writes it: a text description, then the PEM block (RFC 7468 §2
 * explanatory text).
 */
export async function certtoolCsr(
  key: OpensslKeyType,
  options: CerttoolCsrOptions = {},
): Promise<{ csrPem: string; keyPem: string }> {
  return inTempDir(async (directory) => {
    const quote = (value: string) => `"${value.replace(/["\\]/g, "")}"`;
    const template = [
      `cn = ${quote(options.commonName ?? "gnutls-peer")}`,
      ...(options.dnsNames ?? []).map((name) => `dns_name = ${quote(name)}`),
      ...(options.emails ?? []).map((email) => `email = ${quote(email)}`),
      "",
    ].join("\n");
    await writeFile(join(directory, "template"), template);
    const generated = await runPeer(
      "certtool",
      ["--generate-privkey", ...CERTTOOL_KEY[key], "--outfile", "key.pem"],
      directory,
    );
    if (generated.code !== 0)
      throw new Error(`${generated.command} failed (${generated.code}):\n${generated.stderr}`);
    const request = await runPeer(
      "certtool",
      ["--generate-request", "--load-privkey", "key.pem", "--template", "template", "--outfile", "csr.pem"],
      directory,
    );
    if (request.code !== 0)
      throw new Error(`${request.command} failed (${request.code}):\n${request.stderr}`);
    return {
      csrPem: await readFile(join(directory, "csr.pem"), "utf8"),
      keyPem: await readFile(join(directory, "key.pem"), "utf8"),
    };
  });
}

export interface InspectedGeneralName {
  readonly type: "dns" | "ip" | "email" | "uri" | "dirName" | string;
  readonly value: string;
}

export interface InspectedExtension {
  readonly oid: string;
  readonly critical: boolean;
}

/** What pyca/cryptography decodes from a certificate (see the script below). */
export interface InspectedCertificate {
  readonly cryptographyVersion: string;
  readonly version: string;
  readonly subject: string;
  readonly issuer: string;
  readonly subjectAttributes: readonly { oid: string; value: string; tag: string | null }[];
  /** Lower-case hex without leading zeros, as Python's int formats it. */
  readonly serialHex: string;
  /** Octets of the DER INTEGER's contents for this (positive) serial. */
  readonly serialDerLength: number;
  readonly serialPositive: boolean;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly signatureAlgorithmOid: string;
  readonly signatureHash: string | null;
  readonly publicKey: { type: "rsa" | "ec" | "ed25519" | string; bits?: number; curve?: string };
  /** SHA-256 of the SubjectPublicKeyInfo as cryptography re-encodes it. */
  readonly spkiSha256: string;
  readonly sha256Fingerprint: string;
  /** Every extension, in certificate order. */
  readonly extensions: readonly InspectedExtension[];
  readonly basicConstraints?: { critical: boolean; ca: boolean; pathLength: number | null };
  readonly keyUsage?: { critical: boolean; usages: readonly string[] };
  readonly extendedKeyUsage?: { critical: boolean; oids: readonly string[] };
  readonly subjectAltName?: { critical: boolean; names: readonly InspectedGeneralName[] };
  readonly subjectKeyIdentifier?: { critical: boolean; keyIdentifier: string };
  readonly authorityKeyIdentifier?: {
    critical: boolean;
    keyIdentifier: string | null;
    authorityCertIssuer: readonly InspectedGeneralName[] | null;
    authorityCertSerial: string | null;
  };
  readonly authorityInfoAccess?: {
    critical: boolean;
    ocsp: readonly string[];
    caIssuers: readonly string[];
    other: readonly { method: string; location: InspectedGeneralName }[];
  };
  readonly crlDistributionPoints?: {
    critical: boolean;
    urls: readonly string[];
    points: readonly {
      fullName: readonly InspectedGeneralName[] | null;
      relativeName: string | null;
      reasons: readonly string[] | null;
      crlIssuer: readonly InspectedGeneralName[] | null;
    }[];
  };
  /** RFC 5280 §4.2.1.15: where delta CRLs are found (same syntax as the distribution points). */
  readonly freshestCrl?: NonNullable<InspectedCertificate["crlDistributionPoints"]>;
  readonly ocspNoCheck?: { critical: boolean };
  /** Extensions cryptography does not decode: OID and value (hex). */
  readonly unrecognized: readonly { oid: string; critical: boolean; value: string }[];
}

const INSPECT_SCRIPT = String.raw`
import hashlib, json, sys
try:
    import cryptography
    from cryptography import x509
    from cryptography.x509.oid import AuthorityInformationAccessOID
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from cryptography.hazmat.primitives.asymmetric import rsa, ec, ed25519, ed448
except ImportError as error:
    sys.stderr.write("python3-cryptography is not importable by %s: %s\n" % (sys.executable, error))
    sys.exit(3)
from datetime import timezone

def general_name(name):
    if isinstance(name, x509.DNSName): return {"type": "dns", "value": name.value}
    if isinstance(name, x509.IPAddress): return {"type": "ip", "value": str(name.value)}
    if isinstance(name, x509.RFC822Name): return {"type": "email", "value": name.value}
    if isinstance(name, x509.UniformResourceIdentifier): return {"type": "uri", "value": name.value}
    if isinstance(name, x509.DirectoryName): return {"type": "dirName", "value": name.value.rfc4514_string()}
    return {"type": type(name).__name__, "value": repr(name.value)}

def names(values):
    return None if values is None else [general_name(n) for n in values]

def utc(moment):
    if moment.tzinfo is None: moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

KEY_USAGE_BITS = [
    ("digitalSignature", "digital_signature"), ("nonRepudiation", "content_commitment"),
    ("keyEncipherment", "key_encipherment"), ("dataEncipherment", "data_encipherment"),
    ("keyAgreement", "key_agreement"), ("keyCertSign", "key_cert_sign"), ("cRLSign", "crl_sign"),
]

with open(sys.argv[1], "rb") as handle:
    certificate = x509.load_pem_x509_certificate(handle.read())

key = certificate.public_key()
if isinstance(key, rsa.RSAPublicKey): public_key = {"type": "rsa", "bits": key.key_size}
elif isinstance(key, ec.EllipticCurvePublicKey): public_key = {"type": "ec", "bits": key.key_size, "curve": key.curve.name}
elif isinstance(key, ed25519.Ed25519PublicKey): public_key = {"type": "ed25519"}
elif isinstance(key, ed448.Ed448PublicKey): public_key = {"type": "ed448"}
else: public_key = {"type": type(key).__name__}

serial = certificate.serial_number
out = {
    "cryptographyVersion": cryptography.__version__,
    "version": certificate.version.name,
    "subject": certificate.subject.rfc4514_string(),
    "issuer": certificate.issuer.rfc4514_string(),
    "subjectAttributes": [
        {"oid": a.oid.dotted_string, "value": a.value, "tag": getattr(getattr(a, "_type", None), "name", None)}
        for a in certificate.subject
    ],
    "serialHex": format(serial, "x"),
    "serialDerLength": serial.bit_length() // 8 + 1 if serial >= 0 else None,
    "serialPositive": serial > 0,
    "notBefore": utc(getattr(certificate, "not_valid_before_utc", None) or certificate.not_valid_before),
    "notAfter": utc(getattr(certificate, "not_valid_after_utc", None) or certificate.not_valid_after),
    "signatureAlgorithmOid": certificate.signature_algorithm_oid.dotted_string,
    "signatureHash": certificate.signature_hash_algorithm.name if certificate.signature_hash_algorithm else None,
    "publicKey": public_key,
    "spkiSha256": hashlib.sha256(key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).hexdigest(),
    "sha256Fingerprint": certificate.fingerprint(hashes.SHA256()).hex(),
    "extensions": [],
    "unrecognized": [],
}

for extension in certificate.extensions:
    value = extension.value
    critical = extension.critical
    out["extensions"].append({"oid": extension.oid.dotted_string, "critical": critical})
    if isinstance(value, x509.BasicConstraints):
        out["basicConstraints"] = {"critical": critical, "ca": value.ca, "pathLength": value.path_length}
    elif isinstance(value, x509.KeyUsage):
        usages = [name for name, attribute in KEY_USAGE_BITS if getattr(value, attribute)]
        if value.key_agreement:
            if value.encipher_only: usages.append("encipherOnly")
            if value.decipher_only: usages.append("decipherOnly")
        out["keyUsage"] = {"critical": critical, "usages": usages}
    elif isinstance(value, x509.ExtendedKeyUsage):
        out["extendedKeyUsage"] = {"critical": critical, "oids": [oid.dotted_string for oid in value]}
    elif isinstance(value, x509.SubjectAlternativeName):
        out["subjectAltName"] = {"critical": critical, "names": names(value)}
    elif isinstance(value, x509.SubjectKeyIdentifier):
        out["subjectKeyIdentifier"] = {"critical": critical, "keyIdentifier": value.digest.hex()}
    elif isinstance(value, x509.AuthorityKeyIdentifier):
        out["authorityKeyIdentifier"] = {
            "critical": critical,
            "keyIdentifier": value.key_identifier.hex() if value.key_identifier is not None else None,
            "authorityCertIssuer": names(value.authority_cert_issuer),
            "authorityCertSerial": None if value.authority_cert_serial_number is None else format(value.authority_cert_serial_number, "x"),
        }
    elif isinstance(value, x509.AuthorityInformationAccess):
        aia = {"critical": critical, "ocsp": [], "caIssuers": [], "other": []}
        for description in value:
            location = general_name(description.access_location)
            if description.access_method == AuthorityInformationAccessOID.OCSP and location["type"] == "uri":
                aia["ocsp"].append(location["value"])
            elif description.access_method == AuthorityInformationAccessOID.CA_ISSUERS and location["type"] == "uri":
                aia["caIssuers"].append(location["value"])
            else:
                aia["other"].append({"method": description.access_method.dotted_string, "location": location})
        out["authorityInfoAccess"] = aia
    elif isinstance(value, (x509.CRLDistributionPoints, x509.FreshestCRL)):
        points = []
        urls = []
        for point in value:
            full = names(point.full_name)
            urls.extend(n["value"] for n in (full or []) if n["type"] == "uri")
            points.append({
                "fullName": full,
                "relativeName": point.relative_name.rfc4514_string() if point.relative_name is not None else None,
                "reasons": sorted(r.value for r in point.reasons) if point.reasons is not None else None,
                "crlIssuer": names(point.crl_issuer),
            })
        key = "freshestCrl" if isinstance(value, x509.FreshestCRL) else "crlDistributionPoints"
        out[key] = {"critical": critical, "urls": urls, "points": points}
    elif isinstance(value, x509.OCSPNoCheck):
        out["ocspNoCheck"] = {"critical": critical}
    else:
        raw = value.value.hex() if isinstance(value, x509.UnrecognizedExtension) else repr(value)
        out["unrecognized"].append({"oid": extension.oid.dotted_string, "critical": critical, "value": raw})

print(json.dumps(out))
`;

/**
 * Parses one PEM certificate with pyca/cryptography and returns every decoded field.
 * `python` replaces the interpreter (tests of this helper use it).
 */
export async function pythonInspect(pem: string, python = PYTHON): Promise<InspectedCertificate> {
  return inTempDir(async (directory) => {
    await writeFile(join(directory, "certificate.pem"), pem);
    const result = await runPeer(python, ["-c", INSPECT_SCRIPT, "certificate.pem"], directory);
    if (result.code === 3) throw new PeerMissingError(`${result.stderr.trim()}: install ${PYTHON_PACKAGES}`);
    if (result.code !== 0)
      throw new Error(
        `python3-cryptography could not parse the certificate (${result.code}):\n${result.stderr}`,
      );
    return JSON.parse(result.stdout) as InspectedCertificate;
  });
}

/** The versions of the peers, for reports. */
export async function peerVersions(): Promise<{ openssl: string; certtool: string; cryptography: string }> {
  return inTempDir(async (directory) => {
    const openssl = await runPeer("openssl", ["version"], directory);
    const certtool = await runPeer("certtool", ["--version"], directory);
    const python = await runPeer(
      PYTHON,
      [
        "-c",
        "import sys\ntry:\n import cryptography\nexcept ImportError:\n sys.exit(3)\nprint(cryptography.__version__)",
      ],
      directory,
    );
    if (python.code === 3)
      throw new PeerMissingError(`${PYTHON} cannot import cryptography: install ${PYTHON_PACKAGES}`);
    return {
      openssl: openssl.stdout.trim(),
      certtool: certtool.stdout.split("\n")[0]!.trim(),
      cryptography: python.stdout.trim(),
    };
  });
}
