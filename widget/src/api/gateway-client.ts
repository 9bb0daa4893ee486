/**
 * A typed client of the gateway's public API (`protocol/public-api.ts`) for the browser: JSON
 * calls with `fetch`, the key uploads with `XMLHttpRequest` (the only browser API that
 * reports upload progress over HTTP/1.1), and the progress stream read from a `fetch` body so
 * the session token stays in a header. Every response is parsed with the protocol's schemas;
 * every failure is a {@link BlindScoreError} carrying the gateway's error code.
 *
 * Idempotent requests (reads, key and input PUTs, deletes, the resumable upload's steps) are
 * sent again on 429/502/503/504 and network errors (`retry.ts`: backoff with jitter, at least the
 * server's `Retry-After`, bounded). So are `POST …/run` (with no new inputs the gateway answers
 * the latest run) and session creation (the gateway answers 429/503 before creating anything,
 * and a session whose answer was lost would only wait for its TTL).
 */
import { createParser } from 'eventsource-parser';
import { z } from 'zod';
import type { PartyInputs } from '../../../protocol/ciphertexts.ts';
import { ErrorBody } from '../../../protocol/errors.ts';
import {
  AppearanceResponse,
  BEARER_PREFIX,
  CreateSessionResponse,
  InputsAccepted,
  KeyAccepted,
  PROGRESS_EVENT,
  PROGRESS_RESULT_EVENT,
  PublicHeaders,
  PublicRoutes,
  ResultResponse,
  RunResponse,
  ServerKeyUpload,
  SessionProgress,
  UploadCompleted,
  UploadPartAccepted,
  type ServerKeyUploadRequest,
  type UploadedPart,
  publicPath,
  type CreateSessionRequest,
  SessionStatus,
} from '../../../protocol/public-api.ts';
import { BlindScoreError } from '../errors.ts';
import { parseRetryAfter, withRetry } from './retry.ts';

/** What the client needs to reach a session after creating it. */
export interface SessionHandle {
  sessionId: string;
  token: string;
}

export interface GatewayClientOptions {
  /** Base URL of the gateway, e.g. `https://api.bank.example`. */
  baseUrl: string;
  publishableKey: string;
}

/** Codes the client itself raises (the rest come from the gateway's `ErrorBody`). */
export const ClientErrorCode = {
  Network: 'network_error',
  BadResponse: 'bad_response',
  StreamEnded: 'stream_ended',
} as const;

export class GatewayClient {
  private readonly base: string;

  constructor(private readonly options: GatewayClientOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
  }

  /**
   * `GET /v1/manifest`, checked by `parse` (the model's `parseManifest`); a manifest it rejects
   * is an `invalid_manifest` error.
   */
  async manifest<T>(parse: (json: unknown) => T, signal?: AbortSignal): Promise<T> {
    const json = await this.json(PublicRoutes.manifest, { headers: this.publishableHeaders(), signal }, z.unknown(), true);
    try {
      return parse(json);
    } catch (e) {
      throw new BlindScoreError('invalid_manifest', e instanceof Error ? e.message : String(e));
    }
  }

  /** `GET /v1/appearance`: the tenant's brand, or `null`. Not retried: the form does not wait for it. */
  async appearance(signal?: AbortSignal): Promise<AppearanceResponse['appearance']> {
    return (await this.json(PublicRoutes.appearance, { headers: this.publishableHeaders(), signal }, AppearanceResponse, false)).appearance;
  }

  async createSession(body: CreateSessionRequest, signal?: AbortSignal): Promise<CreateSessionResponse> {
    return this.json(
      PublicRoutes.sessions,
      {
        method: 'POST',
        headers: { ...this.publishableHeaders(), 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal,
      },
      CreateSessionResponse,
      true,
    );
  }

  /** `PUT …/server-key` with the body's SHA-256, reporting bytes sent. */
  uploadServerKey(
    session: SessionHandle,
    bytes: Uint8Array,
    onProgress: (sent: number, total: number) => void,
    signal?: AbortSignal,
  ): Promise<KeyAccepted> {
    return this.uploadKey(publicPath.serverKey(session.sessionId), session, bytes, onProgress, signal);
  }

  /**
   * `PUT …/public-key` (the `TfheCompactPublicKey` the bank's and bureau's backends encrypt
   * under) with the body's SHA-256, reporting bytes sent.
   */
  uploadPublicKey(
    session: SessionHandle,
    bytes: Uint8Array,
    onProgress: (sent: number, total: number) => void,
    signal?: AbortSignal,
  ): Promise<KeyAccepted> {
    return this.uploadKey(publicPath.publicKey(session.sessionId), session, bytes, onProgress, signal);
  }

  async uploadInputs(session: SessionHandle, inputs: PartyInputs, signal?: AbortSignal): Promise<InputsAccepted> {
    return this.json(
      publicPath.inputs(session.sessionId, inputs.party),
      {
        method: 'PUT',
        headers: { ...this.tokenHeaders(session), 'content-type': 'application/json' },
        body: JSON.stringify(inputs),
        signal,
      },
      InputsAccepted,
      true,
    );
  }

  /** `GET /v1/sessions/:id`. */
  async status(session: SessionHandle, signal?: AbortSignal): Promise<SessionStatus> {
    return this.json(publicPath.session(session.sessionId), { headers: this.tokenHeaders(session), signal }, SessionStatus, true);
  }

  /**
   * `POST …/server-key/uploads`: starts the resumable upload of a key of `size` bytes and
   * SHA-256 `sha256`, or finds the unfinished one with the same size and hash (its stored parts
   * listed). A key already accepted answers 409 `server_key_exists`.
   */
  async startServerKeyUpload(session: SessionHandle, body: ServerKeyUploadRequest, signal?: AbortSignal): Promise<ServerKeyUpload> {
    return this.json(
      publicPath.serverKeyUploads(session.sessionId),
      {
        method: 'POST',
        headers: { ...this.tokenHeaders(session), 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal,
      },
      ServerKeyUpload,
      true,
    );
  }

  /** `GET …/server-key/uploads/:uploadId`: the parts the gateway holds. */
  async serverKeyUpload(session: SessionHandle, uploadId: string, signal?: AbortSignal): Promise<ServerKeyUpload> {
    return this.json(
      publicPath.serverKeyUpload(session.sessionId, uploadId),
      { headers: this.tokenHeaders(session), signal },
      ServerKeyUpload,
      true,
    );
  }

  /**
   * `PUT …/parts/:partNumber` once, reporting bytes sent (no retry here: the resumable upload
   * decides, knowing which parts landed).
   */
  async uploadServerKeyPart(
    session: SessionHandle,
    uploadId: string,
    partNumber: number,
    bytes: Uint8Array,
    onProgress: (sent: number) => void,
    signal?: AbortSignal,
  ): Promise<UploadedPart> {
    const text = await xhrPut(
      this.url(publicPath.serverKeyUploadPart(session.sessionId, uploadId, partNumber)),
      bytes,
      { ...this.tokenHeaders(session), 'content-type': 'application/octet-stream' },
      (sent) => onProgress(sent),
      signal,
    );
    return parseBody(text, UploadPartAccepted);
  }

  /** `POST …/complete`: the gateway checks the total and the hash and accepts the key. */
  async completeServerKeyUpload(session: SessionHandle, uploadId: string, signal?: AbortSignal): Promise<SessionStatus> {
    return this.json(
      publicPath.serverKeyUploadComplete(session.sessionId, uploadId),
      { method: 'POST', headers: { ...this.tokenHeaders(session), 'content-type': 'application/json' }, body: '{}', signal },
      UploadCompleted,
      true,
    );
  }

  /** `POST …/run`: starts the next run (or retries a failed one); its `runId` names it. */
  async run(session: SessionHandle, signal?: AbortSignal): Promise<RunResponse> {
    return this.body(await this.startRun(session, {}, signal), RunResponse);
  }

  /**
   * Starts (or retries) the run and follows its progress in one request (`POST …/run` asking
   * for `text/event-stream`): the run's id comes in a header (or, from an older gateway, with
   * the stream's first event).
   * Resolves with the run's id and the update `until` accepted, or `found: null` when the stream
   * closed before (follow it with {@link followProgress}). A gateway that answers the run with
   * JSON instead (no stream), or a stream cut before its first event (the id then comes from
   * asking again, which answers the same run), gives the id and `found: null` too.
   */
  async runAndFollow(
    session: SessionHandle,
    onUpdate: (update: SessionProgress) => void,
    until: (update: SessionProgress, runId: string) => boolean,
    signal?: AbortSignal,
    onResult?: (result: ResultResponse, runId: string | undefined) => void,
  ): Promise<{ runId: string; found: SessionProgress | null }> {
    const response = await this.startRun(session, { accept: 'text/event-stream' }, signal);
    if (!response.headers.get('content-type')?.includes('text/event-stream')) {
      const { runId } = await this.body(response, RunResponse);
      return { runId, found: null };
    }
    // The run this request started; a gateway without the header: the first event's run.
    let runId: string | undefined = response.headers.get(PublicHeaders.runId) ?? undefined;
    const found = await this.readProgress(
      response,
      (update) => {
        runId ??= update.runId;
        onUpdate(update);
      },
      (update) => runId !== undefined && until(update, runId),
      onResult && ((result) => onResult(result, runId)),
    );
    // Cut before its first event: asking again answers the run just started (same inputs).
    if (runId === undefined) return { runId: (await this.run(session, signal)).runId, found: null };
    return { runId, found };
  }

  /** `POST …/run` with `headers` added. */
  private startRun(session: SessionHandle, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
    return this.send(
      publicPath.run(session.sessionId),
      { method: 'POST', headers: { ...this.tokenHeaders(session), 'content-type': 'application/json', ...headers }, body: '{}', signal },
      // Safe to repeat: with no new inputs the gateway answers the latest run (or retries a failed one).
      true,
    );
  }

  /**
   * Follows `GET …/progress` until `until` accepts an update; resolves with that update.
   * Resolves `null` if the server closed the stream before. `onResult` receives the encrypted
   * result the stream sends just before a run's `done` (checked like `GET …/result`'s).
   */
  async followProgress(
    session: SessionHandle,
    onUpdate: (update: SessionProgress) => void,
    until: (update: SessionProgress) => boolean,
    signal?: AbortSignal,
    onResult?: (result: ResultResponse) => void,
  ): Promise<SessionProgress | null> {
    const response = await this.send(
      publicPath.progress(session.sessionId),
      {
        headers: { ...this.tokenHeaders(session), accept: 'text/event-stream' },
        signal,
      },
      true,
    );
    return this.readProgress(response, onUpdate, until, onResult);
  }

  /** Reads a progress event stream until `until` accepts an update (that update) or it ends (null). */
  private async readProgress(
    response: Response,
    onUpdate: (update: SessionProgress) => void,
    until: (update: SessionProgress) => boolean,
    onResult?: (result: ResultResponse) => void,
  ): Promise<SessionProgress | null> {
    if (!response.body) throw new BlindScoreError(ClientErrorCode.BadResponse, 'progress response has no body');
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let found: SessionProgress | null = null;
    let bad: BlindScoreError | null = null;
    const parser = createParser({
      onEvent: (event) => {
        if (found || bad) return;
        if (event.event === PROGRESS_RESULT_EVENT && onResult) {
          try {
            onResult(parseBody(event.data, ResultResponse));
          } catch (e) {
            bad = e as BlindScoreError;
          }
          return;
        }
        if ((event.event ?? 'message') !== PROGRESS_EVENT) return;
        try {
          const update = parseBody(event.data, SessionProgress);
          onUpdate(update);
          if (until(update)) found = update;
        } catch (e) {
          bad = e as BlindScoreError;
        }
      },
    });
    try {
      while (!found && !bad) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(value);
      }
    } catch (e) {
      // A stream cut by the network (a dropped 4G link, a reset) ends like a closed one: the
      // caller reconnects (bounded). Only a cancellation is an error here.
      const error = networkError(e);
      if (error.code === 'cancelled') throw error;
    } finally {
      reader.cancel().catch(() => undefined);
    }
    if (bad) throw bad;
    return found;
  }

  /** `GET …/result` of run `runId` (409 `run_superseded` if another run came after it). */
  async result(session: SessionHandle, runId: string, signal?: AbortSignal): Promise<ResultResponse> {
    return this.json(publicPath.result(session.sessionId, runId), { headers: this.tokenHeaders(session), signal }, ResultResponse, true);
  }

  /** `DELETE /v1/sessions/:id`: forget every key and ciphertext now rather than at the TTL. */
  async deleteSession(session: SessionHandle): Promise<void> {
    await this.send(
      publicPath.session(session.sessionId),
      { method: 'DELETE', headers: this.tokenHeaders(session), keepalive: true },
      true,
    );
  }

  /** An octet-stream key upload: exact length (the browser sets it), SHA-256 header, progress. */
  private async uploadKey(
    path: string,
    session: SessionHandle,
    bytes: Uint8Array,
    onProgress: (sent: number, total: number) => void,
    signal?: AbortSignal,
  ): Promise<KeyAccepted> {
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
    const sha256 = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
    const text = await withRetry(
      () =>
        xhrPut(
          this.url(path),
          bytes,
          {
            ...this.tokenHeaders(session),
            'content-type': 'application/octet-stream',
            [PublicHeaders.contentSha256]: sha256,
          },
          onProgress,
          signal,
        ),
      signal,
    );
    return parseBody(text, KeyAccepted);
  }

  private publishableHeaders(): Record<string, string> {
    return { [PublicHeaders.publishableKey]: this.options.publishableKey };
  }

  private tokenHeaders(session: SessionHandle): Record<string, string> {
    return { [PublicHeaders.authorization]: `${BEARER_PREFIX}${session.token}` };
  }

  private url(path: string): string {
    return `${this.base}${path}`;
  }

  private async json<T>(path: string, init: RequestInit, schema: z.ZodType<T>, idempotent = false): Promise<T> {
    return this.body(await this.send(path, init, idempotent), schema);
  }

  /** A response's JSON body, checked against `schema`. */
  private async body<T>(response: Response, schema: z.ZodType<T>): Promise<T> {
    let text: string;
    try {
      text = await response.text();
    } catch (e) {
      throw networkError(e);
    }
    return parseBody(text, schema);
  }

  /**
   * Sends a request; non-2xx answers become the gateway's coded error. `idempotent` requests
   * are sent again on transient failures.
   */
  private async send(path: string, init: RequestInit, idempotent = false): Promise<Response> {
    const once = async () => {
      let response: Response;
      try {
        // The default cache mode: the gateway marks session answers `no-store` itself. Asking
        // for `no-store` or `no-cache` here makes Chromium skip its CORS preflight cache and
        // preflight every request again (a round trip each, on the path after the click).
        response = await fetch(this.url(path), { ...init, credentials: 'omit' });
      } catch (e) {
        throw networkError(e, `${init.method ?? 'GET'} ${path}`);
      }
      if (!response.ok) {
        const text = await response.text().catch(() => '');
        throw errorFromResponse(response.status, text, response.headers.get(PublicHeaders.retryAfter));
      }
      return response;
    };
    const signal = init.signal ?? undefined;
    return idempotent ? withRetry(once, signal) : once();
  }
}

function networkError(e: unknown, request?: string): BlindScoreError {
  if (e instanceof BlindScoreError) return e;
  if (e instanceof DOMException && e.name === 'AbortError') return new BlindScoreError('cancelled', 'cancelled');
  return new BlindScoreError(
    ClientErrorCode.Network,
    `the gateway could not be reached${request ? ` (${request})` : ''}: ${String(e)}`,
    true,
  );
}

/** The gateway's `ErrorBody` as an error; anything else as a generic HTTP failure. */
function errorFromResponse(status: number, text: string, retryAfterHeader: string | null = null): BlindScoreError {
  const retryAfterMs = parseRetryAfter(retryAfterHeader);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const parsed = ErrorBody.safeParse(body);
  if (parsed.success) {
    const retriable = parsed.data.retriable ?? (status === 429 || status >= 502);
    return new BlindScoreError(parsed.data.code, parsed.data.message, retriable, status, retryAfterMs);
  }
  return new BlindScoreError(
    `http_${status}`,
    `the gateway answered HTTP ${status}`,
    status === 429 || status >= 502,
    status,
    retryAfterMs,
  );
}

function parseBody<T>(text: string, schema: z.ZodType<T>): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BlindScoreError(ClientErrorCode.BadResponse, 'the gateway answered something that is not JSON');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new BlindScoreError(ClientErrorCode.BadResponse, `unexpected gateway response: ${parsed.error.message}`);
  return parsed.data;
}

/** A PUT with upload progress; resolves with the response text of a 2xx answer. */
function xhrPut(
  url: string,
  body: Uint8Array,
  headers: Record<string, string>,
  onProgress: (sent: number, total: number) => void,
  signal?: AbortSignal,
): Promise<string> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new BlindScoreError('cancelled', 'cancelled'));
      return;
    }
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.addEventListener('progress', (e) => onProgress(e.loaded, e.lengthComputable ? e.total : body.byteLength));
    const onAbort = () => xhr.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const settle = () => signal?.removeEventListener('abort', onAbort);
    xhr.addEventListener('load', () => {
      settle();
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.responseText);
      else reject(errorFromResponse(xhr.status, xhr.responseText, xhr.getResponseHeader(PublicHeaders.retryAfter)));
    });
    xhr.addEventListener('error', () => {
      settle();
      reject(new BlindScoreError(ClientErrorCode.Network, 'the upload failed: the gateway could not be reached', true));
    });
    xhr.addEventListener('abort', () => {
      settle();
      reject(new BlindScoreError('cancelled', 'cancelled'));
    });
    xhr.send(body as Uint8Array<ArrayBuffer>);
  });
}
