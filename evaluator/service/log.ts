/**
 * JSON-lines logging (pino). Log records name requests, sessions, sizes and timings only: never a
 * key, a ciphertext, a feature value or the shared secret. Signature headers are redacted in case
 * a header object is ever logged by mistake.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** A logger writing one JSON object per line to `destination` (stdout by default). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'blindscore-evaluator' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: { paths: ['headers["x-blindscore-signature"]', 'sharedSecret', 'secret'], censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}
