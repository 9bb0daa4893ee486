/**
 * Uploads a body in chunks with `Transfer-Encoding: chunked` (no Content-Length) and stops as soon
 * as the server answers, reporting how much was sent: proof that the server refused the body
 * while it streamed instead of after buffering it.
 */
import { request } from 'node:http';

export interface StreamedUpload {
  /** The response status, or 0 when the server closed the connection before its answer was read. */
  status: number;
  body: string;
  bytesSent: number;
  /**
   * The server hung up while the body was still streaming (EPIPE / ECONNRESET on our write).
   * A server that refuses a body may answer and close at once; which of the answer and the
   * write error reaches the client first is a race, so callers accept either.
   */
  closedEarly: boolean;
}

export function streamUpload(
  url: string,
  method: string,
  headers: Record<string, string>,
  totalBytes: number,
  chunkAt: (offset: number, size: number) => Uint8Array,
  chunkSize = 64 * 1024,
): Promise<StreamedUpload> {
  return new Promise((resolve, reject) => {
    let bytesSent = 0;
    let answered = false;
    const req = request(url, { method, headers: { ...headers, 'transfer-encoding': 'chunked' } }, (res) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, bytesSent, closedEarly: false }));
      res.on('error', reject);
    });
    // The server may close the socket once it has answered; that is the expected outcome.
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (answered) return;
      if (bytesSent > 0 && (e.code === 'EPIPE' || e.code === 'ECONNRESET')) {
        resolve({ status: 0, body: '', bytesSent, closedEarly: true });
      } else reject(e);
    });
    const pump = () => {
      while (!answered && bytesSent < totalBytes) {
        const size = Math.min(chunkSize, totalBytes - bytesSent);
        const chunk = chunkAt(bytesSent, size);
        bytesSent += size;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered) req.end();
    };
    pump();
  });
}
