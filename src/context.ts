/**
 * Everything the service runs on, opened once from the configuration and shared by the
 * HTTP app, the CLI and tests: database (migrated), key store, and the domain services.
 */
import { join } from "node:path";
import { type Database, openDatabase } from "../db/database.js";
import { migrate } from "../db/migrate.js";
import type { KeyStore } from "../hsm-adapters/key-store.js";
import { openKeyStore } from "../hsm-adapters/open.js";
import { AuditSealer } from "./audit/sealer.js";
import { ClientCertificates } from "./auth/client-certificate.js";
import { systemActor } from "./auth/principal.js";
import { CertificateAuthority } from "./ca/issuance.js";
import { IssuerRegistry } from "./ca/issuers.js";
import { DualControl } from "./ca/operations/dual-control.js";
import { ProfileRegistry } from "./ca/profiles.js";
import { type Clock, systemClock } from "./clock.js";
import type { Config } from "./config.js";
import { ApiKeyAuthenticator } from "./identity/api-keys.js";
import { OrgUnitDirectory } from "./identity/org-units.js";
import { PasswordLogin } from "./identity/password-login.js";
import { SecretSealer } from "./identity/secret-seal.js";
import { ServiceAccounts } from "./identity/service-accounts.js";
import { Directory } from "./identity/users.js";
import { CONFIGURATION_INVALIDATION } from "./invalidation/configuration.js";
import { CrossNodeInvalidation } from "./invalidation/cross-node.js";
import { Dashboard } from "./operations/dashboard.js";
import { ExpiryNotices } from "./operations/expiry-notices.js";
import { Enrollments } from "./ra/enrollments.js";
import { EnrollmentExpiry } from "./ra/expiry.js";
import { KeyDelivery } from "./ra/key-delivery.js";
import { PortalNotifications } from "./ra/notifications.js";
import { CrlPublisher } from "./revocation/crl/publisher.js";
import { certificateStatusTarget } from "./revocation/ocsp/invalidation.js";
import { OcspResponder } from "./revocation/ocsp/responder.js";
import { OcspSigners } from "./revocation/ocsp/signer.js";
import { Revocations } from "./revocation/revocations.js";
import { OpenIdProvider } from "./sso/provider.js";

export interface ServiceContext {
  readonly config: Config;
  readonly db: Database;
  readonly keyStore: KeyStore;
  readonly clock: Clock;
  /** Chains committed audit records soon after their commit; `start()` adds the periodic safety net. */
  readonly auditSealer: AuditSealer;
  readonly issuers: IssuerRegistry;
  readonly profiles: ProfileRegistry;
  readonly orgUnits: OrgUnitDirectory;
  readonly accounts: ServiceAccounts;
  /** Civil servants: users, roles, passwords and TOTP. */
  readonly directory: Directory;
  readonly passwordLogin: PasswordLogin;
  readonly authenticator: ApiKeyAuthenticator;
  readonly ca: CertificateAuthority;
  readonly dualControl: DualControl;
  /** The RA: enrolment requests and their approval, the server-generated keys' download, the portal's notifications. */
  readonly enrollments: Enrollments;
  readonly keyDelivery: KeyDelivery;
  readonly notifications: PortalNotifications;
  /** Expires pending enrolment requests (started by the server). */
  readonly enrollmentExpiry: EnrollmentExpiry;
  readonly revocations: Revocations;
  readonly crls: CrlPublisher;
  readonly ocsp: OcspResponder;
  readonly sso: OpenIdProvider;
  /** Checks TLS client certificates (certificate login, RFC 8705 tls_client_auth). */
  readonly clientCertificates: ClientCertificates;
  /**
   * Keeps profiles and cached API-key principals consistent across nodes (NOTIFY with
   * acknowledgements, src/invalidation/configuration.ts); `ensureListening()` when serving.
   */
  readonly configuration: CrossNodeInvalidation;
  /** The security admin's operations dashboard. */
  readonly dashboard: Dashboard;
  /** Certificates entering the expiry window, POSTed to the webhook (periodic job with ca serve). */
  readonly expiryNotices: ExpiryNotices;
  /** Reloads the cached registries (after init or an admin change). */
  reload(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions {
  readonly clock?: Clock;
  /** Use this database instead of opening one from the configuration (tests). */
  readonly db?: Database;
  readonly keyStore?: KeyStore;
}

export async function openContext(config: Config, options: OpenOptions = {}): Promise<ServiceContext> {
  const clock = options.clock ?? systemClock;
  const db =
    options.db ??
    (await openDatabase({
      url: config.databaseUrl,
      directory: join(config.dataDir, "db"),
      poolSize: config.databasePoolSize,
    }));
  try {
    await migrate(db);
    // First, so that every audited commit from here on asks it for a sealing pass.
    const auditSealer = new AuditSealer(db, { warn: (message) => process.emitWarning(message) });
    const keyStore = options.keyStore ?? (await openKeyStore(config.keyStoreUri, { kek: config.kek }));
    const issuers = new IssuerRegistry(db, keyStore);
    const configuration = new CrossNodeInvalidation(db, CONFIGURATION_INVALIDATION, (message) =>
      process.emitWarning(message),
    );
    const profiles = new ProfileRegistry(db, clock, configuration);
    configuration.attach(profiles);
    const authenticator = new ApiKeyAuthenticator(db, clock, config.apiKeyCacheSeconds * 1000);
    configuration.attach(authenticator);
    const orgUnits = new OrgUnitDirectory(db, clock);
    const ca = new CertificateAuthority(db, clock, issuers, profiles, orgUnits, {
      publicBaseUrl: config.publicBaseUrl,
      country: config.caCountry,
      organization: config.caOrganization,
    });
    const reload = async () => {
      await Promise.all([issuers.reload(), profiles.reload(), orgUnits.reload()]);
    };
    await reload();
    const crls = new CrlPublisher(db, clock, issuers, {
      publicBaseUrl: config.publicBaseUrl,
      fullIntervalMs: config.crl.fullIntervalHours * 3600_000,
      validityMs: config.crl.validityHours * 3600_000,
      deltaValidityMs: config.crl.deltaValidityMinutes * 60_000,
      publishDelayMs: config.crl.publishDelaySeconds * 1000,
    });
    const revocations = new Revocations(db, clock);
    const ocspValidityMs = config.ocsp.validityHours * 3600_000;
    const ocsp = new OcspResponder(
      db,
      clock,
      issuers,
      new OcspSigners(db, keyStore, clock, issuers, profiles, {
        publicBaseUrl: config.publicBaseUrl,
        country: config.caCountry,
        organization: config.caOrganization,
      }),
      {
        validityMs: ocspValidityMs,
        cacheEntries: config.ocsp.cacheEntries,
        refreshIntervalMs: Math.min(ocspValidityMs / 12, 600_000),
      },
    );
    ca.withinIssuance(ocsp.issuanceWriter); // pre-signed responses commit with their certificates
    const clientCertificates = new ClientCertificates(db, clock, issuers);
    // A status change: this node forgets the certificate's row at once, the other nodes on the
    // OCSP invalidation, which they acknowledge before the revoke, hold or release call returns.
    revocations.onChange((change) => clientCertificates.onStatusChange(change));
    ocsp.invalidation.attach(certificateStatusTarget(clientCertificates.statuses));
    revocations.onChange((change) => ocsp.onStatusChange(change)); // and changes before revoke returns
    const sealer = new SecretSealer(keyStore);
    const directory = new Directory(
      db,
      clock,
      orgUnits,
      sealer,
      { totpIssuer: config.caOrganization },
      configuration,
    );
    const sso = new OpenIdProvider(
      db,
      keyStore,
      clock,
      {
        issuer: config.publicBaseUrl,
        mtlsBaseUrl: config.mtls?.publicUrl,
        algorithm: config.sso.signingAlgorithm,
        accessTokenMs: config.sso.accessTokenMinutes * 60_000,
        idTokenMs: config.sso.idTokenMinutes * 60_000,
        refreshTokenMs: config.sso.refreshTokenHours * 3600_000,
        sessionMs: config.sso.sessionHours * 3600_000,
        keyPublishAheadMs: config.sso.keyPublishHours * 3600_000,
        warn: (message) => process.emitWarning(message),
      },
      (id) => directory.get(id),
    );
    await sso.load();
    revocations.onChange((change) => sso.onCertificateStatus(change)); // sessions on that certificate end
    const enrollments = new Enrollments(db, clock, ca, profiles, {
      pendingMs: config.enrollment.pendingDays * 86_400_000,
    });
    const enrollmentExpiry = new EnrollmentExpiry(db, clock, 600_000);
    directory.onDisabled((userId) => sso.onPrincipalDisabled(systemActor, userId)); // and a disabled user's
    const expiryNotices = new ExpiryNotices(db, clock, {
      windowDays: config.expiryNotice.noticeDays,
      webhookUrl: config.expiryNotice.webhookUrl,
    });
    return {
      config,
      db,
      keyStore,
      clock,
      auditSealer,
      issuers,
      profiles,
      orgUnits,
      accounts: new ServiceAccounts(db, clock, orgUnits),
      directory,
      passwordLogin: new PasswordLogin(db, clock, sealer, {
        maxFailures: config.login.maxFailures,
        lockoutMs: config.login.lockoutMinutes * 60_000,
        addressMaxFailures: config.login.addressMaxFailures,
      }),
      authenticator,
      ca,
      dualControl: new DualControl(db, clock, keyStore, issuers, {
        publicBaseUrl: config.publicBaseUrl,
        country: config.caCountry,
        organization: config.caOrganization,
      }),
      enrollments,
      keyDelivery: new KeyDelivery(db, clock, enrollments, issuers),
      notifications: new PortalNotifications(db, clock),
      enrollmentExpiry,
      revocations,
      crls,
      ocsp,
      sso,
      clientCertificates,
      configuration,
      dashboard: new Dashboard(db, clock, keyStore, issuers, {
        noticeDays: config.expiryNotice.noticeDays,
        timeZone: config.timeZone,
        ocspRefreshMarginMs: ocspValidityMs / 2, // responses are re-signed half-way (responder.ts)
      }),
      expiryNotices,
      reload,
      async close() {
        await expiryNotices.stop();
        await crls.stop();
        await enrollmentExpiry.stop();
        await ca.drain(); // a certificate signed but not yet recorded must be recorded first
        await ocsp.stop();
        await sso.stop();
        await configuration.stop();
        await auditSealer.close(); // last writer: seals every record committed before it
        await keyStore.close();
        await db.close();
      },
    };
  } catch (error) {
    if (!options.db) await db.close();
    throw error;
  }
}
