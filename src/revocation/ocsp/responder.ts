/**
 * The OCSP responder (RFC 6960, RFC 5019 profile): one delegated responder per issuer, at
 * `/ocsp/<issuer>` (the URL in the certificates' AIA).
 *
 * Answers, in order of cost:
 * 1. Hot path (no database, no signature): one CertID, no nonce, response in this node's
 *    memory: parse, look up, send the pre-signed bytes.
 * 2. Memory miss: the pre-signed response from the database (shared by all nodes), kept in
 *    memory afterwards; when none is stored or it is due for re-signing, it is signed now
 *    from the certificate's current status and stored.
 * 3. Nonce, or several CertIDs: signed live (a nonce makes every response unique).
 *
 * Pre-signed responses are created when a certificate is issued, re-signed at once on each
 * status change (before the revoke/hold/release call returns, and visible to every node by
 * then, see invalidation.ts), and re-signed by a periodic job half-way to their nextUpdate.
 */
import { CoalescedLookup } from "../../../db/coalesce.js";
import type { Database, Queryable } from "../../../db/database.js";
import { GroupCommitter } from "../../../db/group-commit.js";
import { notify } from "../../../db/stores/notifications.js";
import {
  type CertificateRef,
  certificateStatus,
  deleteExpiredDue,
  deleteResponses,
  dueForRefresh,
  findResponses,
  freshResponses,
  type HashAlg,
  isSignerSerial,
  lockCertificateStatuses,
  missingResponses,
  type OcspResponseRow,
  type ResponseKey,
  tryLockRefresh,
  upsertResponses,
} from "../../../db/stores/ocsp.js";
import { KeyStoreError } from "../../../hsm-adapters/key-store.js";
import type { IssuanceWriter } from "../../ca/issuance.js";
import type { Issuer, IssuerRegistry } from "../../ca/issuers.js";
import type { Clock } from "../../clock.js";
import { ServiceError } from "../../errors.js";
import { CrossNodeInvalidation } from "../../invalidation/cross-node.js";
import { REASON_CODES } from "../reasons.js";
import type { StatusChanged } from "../revocations.js";
import { type CachedResponse, type CacheSlot, cachedResponse, cacheKey, ResponseCache } from "./cache.js";
import {
  CERT_ID_HASHES,
  certificateSerial,
  encodeCertId,
  type IssuerHashes,
  issuerHashes,
} from "./cert-id.js";
import { certificateKey, certificateStatusTarget, OCSP_INVALIDATION } from "./invalidation.js";
import {
  type CertIdRequest,
  decodeGetRequest,
  type OcspRequest,
  OcspRequestError,
  parseOcspRequest,
} from "./request.js";
import {
  type CertStatus,
  encodeResponseData,
  encodeSingleResponse,
  encodeSuccessfulResponse,
  errorResponse,
  type OcspErrorStatus,
} from "./response.js";
import type { OcspSigners, ResponderSigner } from "./signer.js";

export interface OcspPolicy {
  /** nextUpdate − thisUpdate of every response. */
  readonly validityMs: number;
  /** Responses kept in this node's memory (0: none, every answer comes from the database). */
  readonly cacheEntries: number;
  /** How often the periodic job looks for responses to re-sign and responders to renew. */
  readonly refreshIntervalMs: number;
}

/** What the HTTP layer sends: an OCSPResponse, and for a pre-signed one its caching data. */
export interface OcspAnswer {
  readonly der: Buffer;
  readonly presigned?: CachedResponse;
  /** Set for unsuccessful responses (RFC 6960 §2.3). */
  readonly error?: OcspErrorStatus;
}

const failure = (status: OcspErrorStatus): OcspAnswer => ({ der: errorResponse(status), error: status });
const MALFORMED = failure("malformedRequest");
const UNAUTHORIZED = failure("unauthorized");

/** What the responder knows of one issuer, computed once per issuer registry load. */
interface IssuerState {
  readonly issuer: Issuer;
  readonly hashes: Readonly<Record<HashAlg, IssuerHashes>>;
  /** Serials of the CA certificates this issuer signed (a root answers for its issuing CAs). */
  readonly caSerials: ReadonlySet<string>;
}

interface SignJob {
  readonly issuerId: string;
  readonly serial: string;
  readonly signer: ResponderSigner;
  /** NOTIFY payload when this is a status change (several nodes). */
  readonly invalidation?: string | undefined;
  /** Filled by the transaction: the responses it stored (none for a serial that is not ours). */
  stored?: CachedResponse[];
}

const REFRESH_BATCH = 200;
const PRELOAD_BATCH = 5_000;
/** Certificates re-signed by one run of the periodic job at most; the next run continues. */
const REFRESH_RUN_LIMIT = 100_000;

const seconds = (date: Date) => new Date(Math.floor(date.getTime() / 1000) * 1000);

function statusOf(row: {
  status: string;
  revoked_at: Date | null;
  revocation_reason: number | null;
}): CertStatus {
  if (row.status === "good") return { kind: "good" };
  // on-hold is "revoked" with reason certificateHold (RFC 6960 §2.2, RFC 5280 §5.3.1).
  return {
    kind: "revoked",
    time: row.revoked_at!,
    reason: row.status === "on-hold" ? REASON_CODES.certificateHold : row.revocation_reason,
  };
}

export class OcspResponder {
  readonly cache: ResponseCache;
  readonly invalidation: CrossNodeInvalidation;
  private readonly states = new WeakMap<Issuer, IssuerState>();
  private readonly committer: GroupCommitter<SignJob>;
  private readonly loader: CoalescedLookup<ResponseKey, OcspResponseRow | undefined>;
  private readonly loading = new Map<string, Promise<OcspAnswer>>();
  /** GET URLs already parsed, with the memory slot they ask for. */
  private readonly requestSlots = new Map<string, CacheSlot>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;
  private preloading = false;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly issuers: IssuerRegistry,
    readonly signers: OcspSigners,
    private readonly policy: OcspPolicy,
  ) {
    this.cache = new ResponseCache(policy.cacheEntries);
    this.invalidation = new CrossNodeInvalidation(db, OCSP_INVALIDATION, (message) =>
      process.emitWarning(message),
    );
    this.invalidation.attach(certificateStatusTarget(this.cache));
    this.committer = new GroupCommitter(db, (tx, jobs) => this.signAndStore(tx, jobs), {
      maxBatch: 64,
      maxInFlight: db.engine === "postgres" ? 2 : 1,
    });
    this.loader = new CoalescedLookup((keys) => findResponses(db, keys));
  }

  // ---------------------------------------------------------------------------------------
  // Answering requests

  /**
   * Answers one DER OCSPRequest sent to /ocsp/<issuerId>; synchronous on the hot path.
   * Never throws for bad input: malformed requests are answered with malformedRequest.
   */
  answer(issuerId: string, der: Buffer | undefined, memoKey?: string): OcspAnswer | Promise<OcspAnswer> {
    let request: OcspRequest;
    try {
      request = parseOcspRequest(der ?? Buffer.alloc(0));
    } catch (error) {
      if (error instanceof OcspRequestError) return MALFORMED;
      throw error;
    }
    // RFC 6960 §2.3 unauthorized: an issuer this service does not answer for, a CertID of
    // another issuer, or a CertID digest we do not serve.
    const state = this.issuerState(issuerId);
    if (!state) return UNAUTHORIZED;
    for (const certId of request.certIds)
      if (!certId.hash || !this.matches(state, certId)) return UNAUTHORIZED;
    if (this.invalidation.shared && !this.cache.enabled) void this.invalidation.ensureListening(false);

    if (request.certIds.length === 1 && !request.nonce) {
      const certId = request.certIds[0]!;
      if (certId.serial) {
        const slot = this.cache.getSlot(
          cacheKey(issuerId, certId.hash!, certId.serial),
          this.clock.now().getTime(),
        );
        if (slot) {
          // Remembered only once it has been served from memory: URLs for serials that are not
          // ours (never cached) cannot push the useful ones out.
          if (memoKey !== undefined) this.rememberRequest(memoKey, slot);
          return { der: slot.entry.der, presigned: slot.entry };
        }
      }
      return this.presigned(state, certId);
    }
    return this.live(state, request);
  }

  /**
   * A GET (RFC 5019 §5), `path` being the base64 request (percent-decoded) and `url` the
   * request's URL as it came. Caches and clients repeat the same URL, so the URL itself is
   * remembered with the memory slot of the response it asks for: a repeated URL is answered
   * without decoding or parsing the request again (parsing allocates a dozen buffer views;
   * measured, it was most of the hot path's own cost), see `fromMemory`.
   */
  answerGet(issuerId: string, path: string, url: string): OcspAnswer | Promise<OcspAnswer> {
    const hit = this.fromMemory(url, this.clock.now().getTime());
    if (hit) return { der: hit.der, presigned: hit };
    return this.answer(issuerId, decodeGetRequest(path), url);
  }

  /** The pre-signed response a GET URL answered with from memory before, while memory holds it. */
  fromMemory(url: string, nowMs: number): CachedResponse | undefined {
    const slot = this.requestSlots.get(url);
    return slot && this.cache.read(slot, nowMs);
  }

  /** URL → cache slot, bounded like the cache (oldest out first); a slot no longer held is replaced. */
  private rememberRequest(memoKey: string, slot: CacheSlot): void {
    if (this.policy.cacheEntries === 0 || this.requestSlots.get(memoKey)?.live) return;
    this.requestSlots.delete(memoKey);
    this.requestSlots.set(memoKey, slot);
    if (this.requestSlots.size > this.policy.cacheEntries)
      this.requestSlots.delete(this.requestSlots.keys().next().value!);
  }

  private issuerState(issuerId: string): IssuerState | undefined {
    const issuer = this.issuers.find(issuerId);
    if (!issuer || issuer.row.not_after <= this.clock.now()) return undefined;
    let state = this.states.get(issuer);
    if (!state) {
      state = {
        issuer,
        hashes: issuerHashes(issuer.row.certificate),
        caSerials: new Set(
          this.issuers
            .all()
            .filter((child) => child.row.parent_id === issuerId)
            .map((child) => certificateSerial(child.row.certificate)),
        ),
      };
      this.states.set(issuer, state);
    }
    return state;
  }

  private matches(state: IssuerState, certId: CertIdRequest): boolean {
    const hashes = state.hashes[certId.hash!];
    return hashes.nameHash.equals(certId.issuerNameHash) && hashes.keyHash.equals(certId.issuerKeyHash);
  }

  /** One CertID without nonce, not in memory: from the database, or signed and stored now. */
  private presigned(state: IssuerState, certId: CertIdRequest): Promise<OcspAnswer> {
    const issuerId = state.issuer.row.id;
    if (!certId.serial) return this.live(state, { certIds: [certId], nonce: undefined }); // not a serial of ours
    const key = cacheKey(issuerId, certId.hash!, certId.serial);
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.load(state, certId.hash!, certId.serial, certId).finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }

  private async load(
    state: IssuerState,
    hash: HashAlg,
    serial: string,
    certId: CertIdRequest,
  ): Promise<OcspAnswer> {
    const issuerId = state.issuer.row.id;
    const epoch = this.cache.epoch;
    const row = await this.loader.get({ issuerId, serial, hash });
    const now = this.clock.now();
    if (row && now < row.refresh_at) {
      const entry = this.fromRow(row);
      this.cache.putIfUnchanged(entry, epoch);
      return { der: entry.der, presigned: entry };
    }
    // Not stored (a serial that is not ours, or whose pre-signing failed), or due: sign now.
    try {
      if (!row && !(await this.isOurs(state, serial)))
        return await this.live(state, { certIds: [certId], nonce: undefined });
      const stored = await this.resign(issuerId, serial);
      const entry = stored.find((response) => response.hash === hash);
      if (entry) return { der: entry.der, presigned: entry };
      return await this.live(state, { certIds: [certId], nonce: undefined });
    } catch (error) {
      // The key store is unreachable, say: a stored response that is still valid is better than none.
      if (row && now < row.next_update) {
        const entry = this.fromRow(row);
        return { der: entry.der, presigned: entry };
      }
      throw error;
    }
  }

  private async isOurs(state: IssuerState, serial: string): Promise<boolean> {
    return (
      (await certificateStatus(this.db, state.issuer.row.id, serial)) !== undefined ||
      state.caSerials.has(serial) ||
      (await isSignerSerial(this.db, state.issuer.row.id, serial))
    );
  }

  /** Signs one response for the CertIDs of `request` now, echoing its nonce (RFC 8954). */
  private async live(state: IssuerState, request: OcspRequest): Promise<OcspAnswer> {
    const issuerId = state.issuer.row.id;
    const signer = await this.signers.forIssuer(issuerId);
    const now = seconds(this.clock.now());
    const nextUpdate = this.nextUpdate(now, signer);
    const responses = await Promise.all(
      request.certIds.map(async (certId) =>
        encodeSingleResponse({
          certId: certId.encoded,
          status: await this.currentStatus(state, certId),
          thisUpdate: now,
          nextUpdate,
        }),
      ),
    );
    const tbs = encodeResponseData({
      responderKeyHash: signer.keyHash,
      producedAt: now,
      responses,
      nonce: request.nonce,
    });
    const signature = await signer.signer.signatureValue(tbs);
    return {
      der: encodeSuccessfulResponse(tbs, signer.signer.algorithmIdentifier, signature, [signer.certificate]),
    };
  }

  /** A certificate's status for a live answer: from memory when held there (it is kept current), else the database. */
  private async currentStatus(state: IssuerState, certId: CertIdRequest): Promise<CertStatus> {
    const serial = certId.serial;
    if (!serial) return { kind: "unknown" };
    const issuerId = state.issuer.row.id;
    const nowMs = this.clock.now().getTime();
    const held =
      this.cache.get(cacheKey(issuerId, "sha1", serial), nowMs) ??
      this.cache.get(cacheKey(issuerId, "sha256", serial), nowMs);
    if (held) return held.status;
    const row = await certificateStatus(this.db, issuerId, serial);
    if (row) return statusOf(row);
    if (state.caSerials.has(serial) || (await isSignerSerial(this.db, issuerId, serial)))
      return { kind: "good" };
    return { kind: "unknown" };
  }

  // ---------------------------------------------------------------------------------------
  // Pre-signing

  /**
   * The new certificates' responses (good): signed as soon as each certificate is, outside
   * any transaction, and stored in the transaction that records the certificates, so a
   * certificate never exists without its pre-signed answer. They are not put in memory (the
   * first request reads them), so issuance does not push out the responses being asked for.
   * A signature that fails (key store down) leaves that response to the on-demand path and
   * the periodic job; it does not fail the issuance.
   */
  readonly issuanceWriter: IssuanceWriter<OcspResponseRow[]> = {
    prepare: async ({ issuer, record }) => {
      const state = this.issuerState(issuer.row.id);
      // Only a responder already loaded: loading one may take a connection (PGlite has one).
      const signer = this.signers.cached(issuer.row.id);
      if (!state || !signer) return [];
      try {
        const now = seconds(this.clock.now());
        return (await this.signCertificate(signer, state, record.serial, { kind: "good" }, now)).rows;
      } catch (error) {
        process.emitWarning(
          `OCSP pre-signing failed for ${issuer.row.id}/${record.serial}: ${(error as Error).message}`,
        );
        return [];
      }
    },
    write: (tx, prepared) => upsertResponses(tx, prepared.flat()),
  };

  /**
   * revocations.onChange: re-signs at once and, before returning (and so before the revoke,
   * hold or release call returns), makes sure no node serves the old status from memory.
   */
  async onStatusChange(change: StatusChanged): Promise<void> {
    // Evicting first moves the epoch: whatever this node signed or read from the old status
    // and has not cached yet will not be cached now (see ResponseCache).
    this.cache.evict(change.issuerId, change.serial);
    const key = certificateKey(change.issuerId, change.serial);
    const barrier = await this.invalidation.prepare();
    try {
      await this.resign(change.issuerId, change.serial, barrier?.payloadFor(key));
    } catch (error) {
      // Signing failed (key store unreachable?): the stored responses say the old status, so
      // they go, everywhere; requests are then signed on demand (or answered tryLater).
      this.invalidation.cancel(barrier);
      const again = await this.invalidation.prepare();
      await this.db.transaction(async (tx) => {
        await deleteResponses(tx, change.issuerId, change.serial);
        if (again) await notify(tx, OCSP_INVALIDATION.invalidate, again.payloadFor(key));
      });
      await this.invalidation.wait(again);
      throw error;
    }
    await this.invalidation.wait(barrier);
  }

  /**
   * Signs and stores the responses of one certificate from its current status; returns them.
   * They are cached unless an invalidation happened meanwhile (then the next request reads
   * them from the database): a status change evicts before it re-signs, so a response signed
   * from the previous status, by a run that began earlier, cannot replace the new one.
   */
  private async resign(issuerId: string, serial: string, invalidation?: string): Promise<CachedResponse[]> {
    const epoch = this.cache.epoch;
    const signer = await this.signers.forIssuer(issuerId); // outside the transaction (PGlite has one connection)
    const job: SignJob = { issuerId, serial, signer, invalidation };
    await this.committer.submit(job);
    for (const entry of job.stored ?? []) this.cache.putIfUnchanged(entry, epoch);
    return job.stored ?? [];
  }

  /**
   * One transaction for a batch of certificates: read their status share-locked (see
   * lockCertificateStatuses), sign a response per CertID digest, store them, and NOTIFY
   * the status changes, which other nodes receive only once this commits.
   */
  private async signAndStore(tx: Queryable, jobs: readonly SignJob[]): Promise<void> {
    const rows = await lockCertificateStatuses(tx, jobs);
    const byKey = new Map(rows.map((row) => [`${row.issuer_id} ${row.serial}`, row]));
    const now = seconds(this.clock.now());
    const stored: OcspResponseRow[] = [];
    await Promise.all(
      jobs.map(async (job) => {
        job.stored = [];
        const row = byKey.get(`${job.issuerId} ${job.serial}`);
        const state = this.issuerState(job.issuerId);
        let status: CertStatus | undefined = row ? statusOf(row) : undefined;
        if (
          !status &&
          state &&
          (state.caSerials.has(job.serial) || (await isSignerSerial(tx, job.issuerId, job.serial)))
        )
          status = { kind: "good" };
        if (!status || !state) return; // not a certificate of this issuer: "unknown" is never stored
        const signed = await this.signCertificate(job.signer, state, job.serial, status, now);
        job.stored = signed.entries;
        stored.push(...signed.rows);
      }),
    );
    await upsertResponses(tx, stored);
    for (const job of jobs)
      if (job.invalidation) await notify(tx, OCSP_INVALIDATION.invalidate, job.invalidation);
  }

  /** One certificate's responses, one per CertID digest: for memory and for the database. */
  private async signCertificate(
    signer: ResponderSigner,
    state: IssuerState,
    serial: string,
    status: CertStatus,
    now: Date,
  ): Promise<{ entries: CachedResponse[]; rows: OcspResponseRow[] }> {
    const issuerId = state.issuer.row.id;
    const entries: CachedResponse[] = [];
    const rows: OcspResponseRow[] = [];
    for (const hash of CERT_ID_HASHES) {
      const response = await this.sign(signer, encodeCertId(state.hashes[hash], serial), status, now);
      const entry = cachedResponse({ issuerId, serial, hash, status, ...response });
      entries.push(entry);
      rows.push({
        issuer_id: issuerId,
        serial,
        hash_alg: hash,
        status: status.kind === "revoked" ? "revoked" : "good",
        revoked_at: status.kind === "revoked" ? status.time : null,
        revocation_reason: status.kind === "revoked" ? status.reason : null,
        this_update: entry.thisUpdate,
        next_update: entry.nextUpdate,
        refresh_at: new Date(entry.refreshAtMs),
        der: entry.der,
      });
    }
    return { entries, rows };
  }

  private nextUpdate(thisUpdate: Date, signer: ResponderSigner): Date {
    const wanted = new Date(thisUpdate.getTime() + this.policy.validityMs);
    return wanted > signer.notAfter ? seconds(signer.notAfter) : wanted; // never outlive the responder
  }

  /** A pre-signed response for one CertID: no nonce, so the same bytes answer everyone until refreshAt. */
  private async sign(signer: ResponderSigner, certId: Buffer, status: CertStatus, thisUpdate: Date) {
    const nextUpdate = this.nextUpdate(thisUpdate, signer);
    const tbs = encodeResponseData({
      responderKeyHash: signer.keyHash,
      producedAt: thisUpdate,
      responses: [encodeSingleResponse({ certId, status, thisUpdate, nextUpdate })],
    });
    const signature = await signer.signer.signatureValue(tbs);
    return {
      der: encodeSuccessfulResponse(tbs, signer.signer.algorithmIdentifier, signature, [signer.certificate]),
      thisUpdate,
      nextUpdate,
      refreshAtMs: thisUpdate.getTime() + Math.floor((nextUpdate.getTime() - thisUpdate.getTime()) / 2),
    };
  }

  private fromRow(row: OcspResponseRow): CachedResponse {
    return cachedResponse({
      issuerId: row.issuer_id,
      serial: row.serial,
      hash: row.hash_alg,
      der: row.der,
      status:
        row.status === "good"
          ? { kind: "good" }
          : { kind: "revoked", time: row.revoked_at!, reason: row.revocation_reason },
      thisUpdate: row.this_update,
      nextUpdate: row.next_update,
      refreshAtMs: row.refresh_at.getTime(),
    });
  }

  // ---------------------------------------------------------------------------------------
  // The periodic job

  /**
   * Renews responders that need it, then re-signs the responses that reached their refresh
   * time and signs those missing, in batches, each batch one transaction under an advisory
   * lock: one node works at a time (PGlite: one node), and a batch never repeats another's.
   * Returns the number of certificates re-signed; `onProgress` hears the count after each batch.
   */
  async refreshDue(
    options: { limit?: number; onProgress?: (certificates: number) => void } = {},
  ): Promise<number> {
    const limit = options.limit ?? REFRESH_RUN_LIMIT;
    // Issuers whose responder could not be renewed are skipped below; the others go on.
    await this.signers.ensureAll().catch((error: Error) => process.emitWarning(error.message));
    await deleteExpiredDue(this.db, this.clock.now());
    let done = 0;
    let missingAfter: CertificateRef | undefined; // where the scan for missing responses goes on
    while (done < limit && !this.stopped) {
      const signers = new Map(
        this.issuers
          .all()
          .map((issuer) => [issuer.row.id, this.signers.cached(issuer.row.id)] as const)
          .filter((entry): entry is [string, ResponderSigner] => entry[1] !== undefined),
      );
      const epoch = this.cache.epoch;
      const jobs = await this.db.transaction(async (tx) => {
        if (!(await tryLockRefresh(tx))) return [];
        const now = this.clock.now();
        const due = await dueForRefresh(tx, now, REFRESH_BATCH);
        if (due.length < REFRESH_BATCH) {
          const missing = await missingResponses(tx, now, REFRESH_BATCH - due.length, missingAfter);
          missingAfter = missing.at(-1) ?? missingAfter;
          due.push(...missing);
        }
        const batch = due
          .filter((ref) => signers.has(ref.issuerId))
          .map((ref): SignJob => ({ ...ref, signer: signers.get(ref.issuerId)! }));
        await this.signAndStore(tx, batch);
        // Stored responses of what is no longer ours to answer for (its issuer expired) go.
        for (const job of batch) if (!job.stored?.length) await deleteResponses(tx, job.issuerId, job.serial);
        return batch;
      });
      // Nothing to do, another node's turn, or only certificates that cannot be signed for now
      // (their issuer has no responder): the next run tries again.
      if (!jobs.some((job) => job.stored?.length)) break;
      // Only what this node holds already is replaced: a re-signing run must not flush the
      // memory of the responses actually asked for.
      for (const job of jobs) for (const entry of job.stored ?? []) this.cache.replaceIfPresent(entry, epoch);
      done += jobs.length;
      options.onProgress?.(done);
    }
    return done;
  }

  /**
   * Fills this node's memory from the database, so that a node just started (or restarted
   * after a deploy) answers from memory at once rather than from a database query per
   * first request: the stored responses not yet due for re-signing, SHA-1 CertIDs first
   * (RFC 5019 §2.1.1 makes them what lightweight clients send), then SHA-256, until the
   * memory is full. It stops there, and adds nothing while memory cannot be trusted (this
   * node does not hear other nodes' invalidations); a batch read while a status changed is
   * left to the requests. Returns the number of responses it put in memory.
   */
  async preload(onProgress?: (loaded: number) => void): Promise<number> {
    this.preloading = true;
    try {
      await this.invalidation.ensureListening();
      if (this.policy.cacheEntries === 0 || !this.cache.enabled) return 0;
      let loaded = 0;
      for (const hash of ["sha1", "sha256"] as const) {
        let after: CertificateRef | undefined;
        while (!this.stopped && this.cache.size < this.policy.cacheEntries) {
          const epoch = this.cache.epoch;
          const rows = await freshResponses(this.db, hash, this.clock.now(), PRELOAD_BATCH, after);
          for (const row of rows) {
            if (this.cache.size >= this.policy.cacheEntries || epoch !== this.cache.epoch) break;
            if (this.cache.putIfAbsent(this.fromRow(row), epoch)) loaded++;
          }
          onProgress?.(loaded);
          if (rows.length < PRELOAD_BATCH) break;
          const last = rows[rows.length - 1]!;
          after = { issuerId: last.issuer_id, serial: last.serial };
        }
      }
      return loaded;
    } finally {
      this.preloading = false;
    }
  }

  /** True while `preload` runs: /readyz says "loading" until this node answers from memory. */
  get loadingMemory(): boolean {
    return this.preloading;
  }

  /** Starts listening for other nodes' invalidations and the periodic job (server only). */
  start(): void {
    this.stopped = false;
    void this.invalidation.ensureListening();
    const run = () => {
      this.running = this.refreshDue()
        .catch((error: Error) => process.emitWarning(`OCSP refresh failed: ${error.message}`))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) {
            this.timer = setTimeout(run, this.policy.refreshIntervalMs);
            this.timer.unref();
          }
        });
    };
    this.timer = setTimeout(run, 0);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.invalidation.stop();
  }
}

/** Maps an error thrown while answering to the OCSP status the client gets (RFC 6960 §2.3). */
export function errorStatusOf(error: unknown): OcspErrorStatus {
  if (error instanceof KeyStoreError && error.code === "unavailable") return "tryLater";
  if (error instanceof ServiceError && error.status === 503) return "tryLater";
  return "internalError";
}
